"""Save / load a fitted S5Forecaster as a directory: `config.json` + `model.eqx`.

No pickle: the config is JSON, the weights are raw arrays read with `allow_pickle=False`
into a skeleton rebuilt from the config, so loading a file cannot run code. Writes go to a
temporary directory that is renamed into place (`_serialise`).
"""

from pathlib import Path

import jax
import numpy as np

from ._data import Scaler, TimeScale
from ._discretise import ZOH, Bilinear, Impulse
from ._features import n_features
from ._serialise import (
    check_overwritable,
    load_leaves,
    read_json,
    save_leaves,
    write_dir_atomically,
    write_json,
)
from ._validation import check_hyperparameters


FORMAT = "s5ts.S5Forecaster"
FORMAT_VERSION = 1
_WHAT = "a saved S5Forecaster"
_RULES = {cls.__name__: cls for cls in (ZOH, Impulse, Bilinear)}
_FITTED_ARRAYS = ("static_mean_", "static_std_")
_FITTED_PLAIN = ("context_", "horizon_", "max_len_", "n_features_", "id_col_", "time_col_")


def _encode_rule(rule) -> str | None:
    if rule is None:
        return None
    name = type(rule).__name__
    if _RULES.get(name) is not type(rule):
        raise ValueError(
            f"cannot save discretisation {rule!r}: only {sorted(_RULES)} can be written to JSON"
        )
    return name


def _as_path(path) -> Path:
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def save(est, path) -> None:
    path = _as_path(path)
    check_overwritable(path, "config.json", _WHAT)
    params = est.get_params()
    params["discretisation"] = _encode_rule(params["discretisation"])
    if params["target_weights"] is not None:  # numpy numbers are not JSON
        params["target_weights"] = {k: float(v) for k, v in params["target_weights"].items()}
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyperparameters": params,
        "target_cols": list(est.target_cols_),
        "static_cols": list(est.static_cols_),
        "time_scale": est.time_scale_.to_dict(),
        "scaler": est.scaler_.to_dict(),
        "fitted": {k: getattr(est, k) for k in _FITTED_PLAIN}
        | {k: getattr(est, k).tolist() for k in _FITTED_ARRAYS},
        "history": {k: v for k, v in est.history_.items() if k in ("best_step", "stopped")},
    }

    def fill(tmp: Path) -> None:
        write_json(tmp / "config.json", config)
        save_leaves(tmp / "model.eqx", est.model_)

    write_dir_atomically(path, fill)


def load(path):
    from ._forecaster import S5Forecaster

    path = _as_path(path)
    if not path.is_dir():
        raise ValueError(f"{path} is not {_WHAT}: the directory is missing")
    config = _read_config(path)
    try:
        params = dict(config["hyperparameters"])
        rule = params.get("discretisation")
        params["discretisation"] = None if rule is None else _RULES[rule]()
        est = S5Forecaster(**params)
        check_hyperparameters(est)
        est.target_cols_ = tuple(str(c) for c in config["target_cols"])
        est.static_cols_ = tuple(str(c) for c in config["static_cols"])
        est.time_scale_ = TimeScale.from_dict(config["time_scale"])
        est.scaler_ = Scaler.from_dict(config["scaler"])
        fitted = config["fitted"]
        for k in _FITTED_PLAIN:
            setattr(est, k, fitted[k])
        for k in _FITTED_ARRAYS:
            setattr(est, k, np.asarray(fitted[k], dtype=np.float64))
        _check_consistent(est, path / "model.eqx")
        est.history_ = dict(config.get("history", {}))
        skeleton = est._skeleton(jax.random.key(0))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(
            f"{path / 'config.json'} is not a valid S5Forecaster config: {err!r}"
        ) from err
    est.model_ = load_leaves(path / "model.eqx", skeleton, _WHAT)
    return est


def _check_consistent(est, weights: Path) -> None:
    """Sizes the config states twice must agree, or the skeleton would be built wrong; and
    the weights file must be big enough for the sizes, so that a tampered config cannot
    make the skeleton (built before the weights are read) exhaust memory."""
    n_t, n_s = len(est.target_cols_), len(est.static_cols_)
    if est.scaler_.mean.shape != (n_t,) or est.scaler_.std.shape != (n_t,):
        raise ValueError("scaler does not have one entry per target column")
    if est.static_mean_.shape != (n_s,) or est.static_std_.shape != (n_s,):
        raise ValueError("static_mean_/static_std_ do not have one entry per static column")
    for k in ("max_len_", "n_features_"):
        v = getattr(est, k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"fitted {k} must be a positive int, got {v!r}")
    if est.n_features_ != n_features(n_t, n_s):
        raise ValueError(f"n_features_ = {est.n_features_} does not fit the column lists")
    # B and C of each S5 layer alone hold 2 * hidden * state float32 numbers.
    least = 8 * est.hidden_size * est.state_size * est.n_layers
    if weights.is_file() and weights.stat().st_size < least:
        raise ValueError(
            f"{weights.name} is too small for hidden_size={est.hidden_size}, "
            f"state_size={est.state_size}, n_layers={est.n_layers}"
        )


def _read_config(path: Path) -> dict:
    file = path / "config.json"
    config = read_json(file, _WHAT)
    if config.get("format") != FORMAT:
        raise ValueError(f"{file} is not an {FORMAT} config")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{file} has format version {config.get('format_version')!r}; this s5ts reads "
            f"version {FORMAT_VERSION}"
        )
    return config
