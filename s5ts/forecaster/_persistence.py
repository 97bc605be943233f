"""Save / load a fitted forecaster as a directory: `config.json` + `model.eqx`.

No pickle: the config is JSON (`_json`: option objects by class name from a fixed
list), the weights are raw arrays read with `allow_pickle=False` into a skeleton rebuilt
from the config, so loading a file cannot run code. Writes go to a temporary directory
that is renamed into place (`s5ts._atomic_io`). The config records the SHA-256 of the
weights file and of its own content; `load` verifies both before using anything, so a
changed byte is a ValueError naming the file, never a silently different model.

The same pair (sealed config, weight bytes) is what a pickled `S5Forecaster` holds
(`to_payload` / `from_payload`), so pickling goes through this format too.
"""

import json
from pathlib import Path

import jax

from .._atomic_io import (
    check_overwritable,
    check_seal,
    leaves_to_bytes,
    load_leaves,
    parse_json,
    read_bytes,
    read_json,
    save_leaves,
    seal,
    write_dir_atomically,
    write_json,
)
from ..batching import n_features
from ..network import N_BASELINES
from ._checks import check_hyperparameters
from ._fitted import FittedForecaster
from ._json import decode_option, encode_option


FORMAT = "s5ts.S5Forecaster"
FORMAT_VERSION = 3  # 3: SHA-256 digests of the weights and of the config
CONFIG, WEIGHTS = "config.json", "model.eqx"
_WHAT = "a saved S5Forecaster"
# Hyperparameters added after files of this format were first written, with the value
# that models saved before them were trained with (not today's default).
UNNAMED_IN_OLDER_FILES = {"ema_decay": 0.0, "folds": 1}
# Likewise for the network's Architecture: blends of three simple forecasts before the
# recent mean.
UNNAMED_IN_OLDER_ARCHITECTURES = {"baselines": 3}


def _as_path(path) -> Path:
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def _config(params: dict, fitted: FittedForecaster) -> dict:
    params = {k: encode_option(v) for k, v in params.items()}
    if params["target_weights"] is not None:  # numpy numbers are not JSON
        params["target_weights"] = {k: float(v) for k, v in params["target_weights"].items()}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyperparameters": params,
        "fitted": fitted.to_config(),
    }


def save(path, params: dict, fitted: FittedForecaster) -> None:
    """Write hyperparameters `params` and the fitted state to the directory `path`."""
    path = _as_path(path)
    check_overwritable(path, CONFIG, _WHAT)
    config = _config(params, fitted)

    def fill(tmp: Path) -> None:
        save_leaves(tmp / WEIGHTS, fitted.model)
        # The digest is of the bytes on disk: what load will read.
        write_json(tmp / CONFIG, seal(config, CONFIG, {WEIGHTS: (tmp / WEIGHTS).read_bytes()}))

    write_dir_atomically(path, fill)


def load(path, defaults: dict) -> tuple[dict, FittedForecaster]:
    """`(hyperparameters, fitted state)` of the directory written by `save`; `defaults`
    (the estimator's) fill hyperparameters the file does not name, and name the valid
    ones."""
    path = _as_path(path)
    if not path.is_dir():
        why = "it is a file, not the directory save wrote" if path.exists() else "it does not exist"
        raise ValueError(f"{path} is not {_WHAT}: {why}")
    config = read_json(path / CONFIG, _WHAT)
    _check_format(config, path / CONFIG)
    weights = read_bytes(path / WEIGHTS, _WHAT)
    return _from_config(config, weights, path, defaults)


def to_payload(params: dict, fitted: FittedForecaster) -> dict:
    """The files `save` writes, in memory: `{"config": JSON text, "weights": bytes}`."""
    weights = leaves_to_bytes(fitted.model)
    config = seal(_config(params, fitted), CONFIG, {WEIGHTS: weights})
    return {"config": json.dumps(config, allow_nan=False), "weights": weights}


def from_payload(payload: dict, defaults: dict) -> tuple[dict, FittedForecaster]:
    """The inverse of `to_payload`, with every check of `load`."""
    if not isinstance(payload, dict) or not {"config", "weights"} <= set(payload):
        raise ValueError("not a pickled S5Forecaster payload (config and weights)")
    where = Path("<pickled S5Forecaster>")
    config = parse_json(str(payload["config"]).encode(), str(where / CONFIG))
    _check_format(config, where / CONFIG)
    return _from_config(config, bytes(payload["weights"]), where, defaults)


def _from_config(config: dict, weights: bytes, path: Path, defaults: dict):
    check_seal(config, path / CONFIG, {WEIGHTS: weights})
    try:
        saved = {k: decode_option(v) for k, v in dict(config["hyperparameters"]).items()}
        unknown = sorted(set(saved) - set(defaults))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}")
        params = defaults | UNNAMED_IN_OLDER_FILES | saved
        check_hyperparameters(params)
        fitted_config = dict(config["fitted"])
        architecture = dict(fitted_config["architecture"])
        fitted_config["architecture"] = UNNAMED_IN_OLDER_ARCHITECTURES | architecture
        fitted = FittedForecaster.from_config(fitted_config)
        _check_consistent(fitted, len(weights))
        skeleton = fitted.architecture.build(jax.random.key(0))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{path / CONFIG} is not a valid S5Forecaster config: {err!r}") from err
    model = load_leaves(path / WEIGHTS, skeleton, _WHAT, data=weights)
    return params, fitted.replace(model=model)


def _check_consistent(fitted: FittedForecaster, n_bytes: int) -> None:
    """Sizes the config states twice must agree, or the skeleton would be built wrong; and
    the weights must be big enough for the sizes, so that a tampered config cannot make
    the skeleton (built before the weights are read) exhaust memory."""
    arch = fitted.architecture
    n_t, n_s = len(fitted.target_cols), len(fitted.static_cols)
    if fitted.scaler.mean.shape != (n_t,) or fitted.scaler.std.shape != (n_t,):
        raise ValueError("scaler does not have one entry per target column")
    if fitted.static_mean.shape != (n_s,) or fitted.static_std.shape != (n_s,):
        raise ValueError("static_mean/static_std do not have one entry per static column")
    sizes = {"max_len": fitted.max_len} | {
        k: getattr(arch, k)
        for k in (
            "n_features",
            "n_targets",
            "hidden_size",
            "state_size",
            "blocks",
            "n_layers",
            "members",
        )
    }
    for k, v in sizes.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"fitted {k} must be a positive int, got {v!r}")
    if arch.baselines not in (3, N_BASELINES):
        raise ValueError(f"fitted baselines must be 3 or {N_BASELINES}, got {arch.baselines!r}")
    if arch.n_features != n_features(n_t, n_s) or arch.n_targets != n_t:
        raise ValueError(f"n_features = {arch.n_features} does not fit the column lists")
    # Each layer's map from its state to its output alone holds hidden * state float32
    # numbers: S5's C and DSS's W (state / 2 complex modes each); S4D holds more.
    least = 4 * arch.hidden_size * arch.state_size * arch.n_layers * arch.members
    if n_bytes < least:
        raise ValueError(
            f"{WEIGHTS} is too small for hidden_size={arch.hidden_size}, "
            f"state_size={arch.state_size}, n_layers={arch.n_layers}, members={arch.members}"
        )


def _check_format(config: dict, file: Path) -> None:
    # Before the digests: a file of another version has none, or others.
    if config.get("format") != FORMAT:
        raise ValueError(f"{file} is not an {FORMAT} config")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{file} has format version {config.get('format_version')!r}; this s5ts reads "
            f"version {FORMAT_VERSION} (save the model again with this version)"
        )
