"""Save / load a fitted forecaster as a directory: `config.json` + `model.eqx`.

No pickle: the config is JSON (`_json`: option objects by class name from a fixed
list), the weights are raw arrays read with `allow_pickle=False` into a skeleton rebuilt
from the config, so loading a file cannot run code. Writes go to a temporary directory
that is renamed into place (`s5ts._atomic_io`).
"""

from pathlib import Path

import jax

from .._atomic_io import (
    check_overwritable,
    load_leaves,
    read_json,
    save_leaves,
    write_dir_atomically,
    write_json,
)
from .._features import n_features
from ._checks import check_hyperparameters
from ._fitted import FittedForecaster
from ._json import decode_option, encode_option


FORMAT = "s5ts.S5Forecaster"
FORMAT_VERSION = 2
_WHAT = "a saved S5Forecaster"


def _as_path(path) -> Path:
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def save(path, params: dict, fitted: FittedForecaster) -> None:
    """Write hyperparameters `params` and the fitted state to the directory `path`."""
    path = _as_path(path)
    check_overwritable(path, "config.json", _WHAT)
    params = {k: encode_option(v) for k, v in params.items()}
    if params["target_weights"] is not None:  # numpy numbers are not JSON
        params["target_weights"] = {k: float(v) for k, v in params["target_weights"].items()}
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyperparameters": params,
        "fitted": fitted.to_config(),
    }

    def fill(tmp: Path) -> None:
        write_json(tmp / "config.json", config)
        save_leaves(tmp / "model.eqx", fitted.model)

    write_dir_atomically(path, fill)


def load(path, defaults: dict) -> tuple[dict, FittedForecaster]:
    """`(hyperparameters, fitted state)` of the directory written by `save`; `defaults`
    (the estimator's) fill hyperparameters the file does not name, and name the valid
    ones."""
    path = _as_path(path)
    if not path.is_dir():
        raise ValueError(f"{path} is not {_WHAT}: the directory is missing")
    config = _read_config(path)
    try:
        saved = {k: decode_option(v) for k, v in dict(config["hyperparameters"]).items()}
        unknown = sorted(set(saved) - set(defaults))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}")
        params = defaults | saved
        check_hyperparameters(params)
        fitted = FittedForecaster.from_config(dict(config["fitted"]))
        arch = fitted.architecture
        _check_consistent(fitted, path / "model.eqx")
        skeleton = arch.build(jax.random.key(0))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(
            f"{path / 'config.json'} is not a valid S5Forecaster config: {err!r}"
        ) from err
    model = load_leaves(path / "model.eqx", skeleton, _WHAT)
    return params, fitted.replace(model=model)


def _check_consistent(fitted: FittedForecaster, weights: Path) -> None:
    """Sizes the config states twice must agree, or the skeleton would be built wrong; and
    the weights file must be big enough for the sizes, so that a tampered config cannot
    make the skeleton (built before the weights are read) exhaust memory."""
    arch = fitted.architecture
    n_t, n_s = len(fitted.target_cols), len(fitted.static_cols)
    if fitted.scaler.mean.shape != (n_t,) or fitted.scaler.std.shape != (n_t,):
        raise ValueError("scaler does not have one entry per target column")
    if fitted.static_mean.shape != (n_s,) or fitted.static_std.shape != (n_s,):
        raise ValueError("static_mean/static_std do not have one entry per static column")
    sizes = {"max_len": fitted.max_len} | {
        k: getattr(arch, k)
        for k in ("n_features", "n_targets", "hidden_size", "state_size", "blocks", "n_layers")
    }
    for k, v in sizes.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"fitted {k} must be a positive int, got {v!r}")
    if arch.n_features != n_features(n_t, n_s) or arch.n_targets != n_t:
        raise ValueError(f"n_features = {arch.n_features} does not fit the column lists")
    # B and C of each S5 layer alone hold 2 * hidden * state float32 numbers.
    least = 8 * arch.hidden_size * arch.state_size * arch.n_layers
    if weights.is_file() and weights.stat().st_size < least:
        raise ValueError(
            f"{weights.name} is too small for hidden_size={arch.hidden_size}, "
            f"state_size={arch.state_size}, n_layers={arch.n_layers}"
        )


def _read_config(path: Path) -> dict:
    file = path / "config.json"
    config = read_json(file, _WHAT)
    if config.get("format") != FORMAT:
        raise ValueError(f"{file} is not an {FORMAT} config")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{file} has format version {config.get('format_version')!r}; this s5ts reads "
            f"version {FORMAT_VERSION} (save the model again with this version)"
        )
    return config
