"""Checks of the forecaster's arguments and frames, all before anything reaches JAX.

A bad argument fails here with a ValueError/TypeError that names it, instead of as an
error from deep inside tracing. Frame-level validation (columns, times, duplicates, ...)
lives in `to_panel`; what is checked here is what only the forecaster knows about.
"""

import numbers
from dataclasses import replace

import numpy as np

from ._data import to_panel
from ._data._compat import nw
from ._data._messages import fmt_ids
from ._data.columns import as_frame
from ._data.static import read_static
from ._discretise import AbstractDiscretisation


# Beyond this magnitude, squares (variances) of a column overflow float64 on large panels;
# such values are nearly always sentinels or unit errors, so they are refused, not scaled.
MAX_ABS_VALUE = 1e100

_POSITIVE_INTS = (
    "hidden_size state_size blocks n_layers batch_size max_steps eval_every patience".split()
)


def read_panel(df, static_df, id_col, time_col, target_cols, duplicates="raise"):
    """df (and static_df, which may also cover series not in df) -> a validated Panel."""
    panel, _ = to_panel(
        df, id_col=id_col, time_col=time_col, target_cols=target_cols, duplicates=duplicates
    )
    if static_df is None:
        return panel
    frame = as_frame(static_df, "static_df")
    if id_col in frame.columns:
        frame = frame.filter(nw.col(id_col).is_in(panel.ids.tolist()))
    static, cols = read_static(frame.to_native(), id_col, panel.ids)
    return replace(panel, static=static, static_cols=cols)


def check_has_targets(df, target_cols) -> None:
    """predict/cross_validation: df must hold every target the forecaster was fitted on."""
    frame = as_frame(df)
    missing = [c for c in target_cols if c not in frame.columns]
    if missing:
        raise ValueError(
            f"df lacks target column(s) {missing} that the forecaster was fitted on "
            f"(fitted targets: {list(target_cols)}; df columns: {list(frame.columns)})"
        )


def check_hyperparameters(est) -> None:
    for name in _POSITIVE_INTS:
        v = getattr(est, name)
        if not _is_int(v) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    _check_real(est.dropout, "dropout", 0, 1)
    _check_real(est.val_size, "val_size", 0, 1)
    _check_real(est.weight_decay, "weight_decay", 0, np.inf)
    _check_real(est.learning_rate, "learning_rate", 0, np.inf)
    if not est.learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {est.learning_rate!r}")
    if est.state_size % (2 * est.blocks):
        raise ValueError(
            f"state_size ({est.state_size}) must be a multiple of 2 * blocks ({2 * est.blocks})"
        )
    if not _is_int(est.random_state):
        raise TypeError(f"random_state must be an int seed, got {est.random_state!r}")
    if est.val_metric not in ("nll", "mse"):
        raise ValueError(f"val_metric must be 'nll' or 'mse', got {est.val_metric!r}")
    if est.loss not in ("nll", "mse"):
        raise ValueError(f"loss must be 'nll' or 'mse', got {est.loss!r}")
    _check_weights_type(est.target_weights)
    if est.duplicates not in ("raise", "mean", "last"):
        raise ValueError(f"duplicates must be 'raise', 'mean' or 'last', got {est.duplicates!r}")
    rule = est.discretisation
    if rule is not None and not isinstance(rule, AbstractDiscretisation):
        raise TypeError(
            f"discretisation must be a rule object such as s5ts.ZOH() or None, got {rule!r}"
        )


def check_fit_panel(panel) -> None:
    """What fit cannot learn from: never-observed targets, values too large to scale."""
    observed = ~np.isnan(panel.values)
    never = [c for c, n in zip(panel.target_cols, observed.sum(0), strict=True) if n == 0]
    if never:
        raise ValueError(
            f"target column(s) {never} have no observed value in df; drop them from "
            "target_cols (nothing can be learned about them)"
        )
    check_magnitude(panel)


def check_magnitude(panel) -> None:
    big = np.abs(np.nan_to_num(panel.values)) > MAX_ABS_VALUE
    if big.any():
        rows, cols = np.nonzero(big)
        names = [panel.target_cols[j] for j in np.unique(cols)]
        raise ValueError(
            f"target column(s) {names} hold values beyond +-{MAX_ABS_VALUE:g} in series "
            f"{fmt_ids(panel.ids[panel.series_of_row[rows]])}; these are too large to "
            "standardise safely: replace sentinels with NaN or change the unit"
        )
    if panel.static is not None and (np.abs(panel.static) > MAX_ABS_VALUE).any():
        rows, cols = np.nonzero(np.abs(panel.static) > MAX_ABS_VALUE)
        names = [panel.static_cols[j] for j in np.unique(cols)]
        raise ValueError(
            f"static_df column(s) {names} hold values beyond +-{MAX_ABS_VALUE:g} for series "
            f"{fmt_ids(panel.ids[rows])}; rescale them"
        )


def check_levels(level) -> list[float]:
    levels = _numbers(level, "level")
    bad = [lv for lv in levels if not 0 < lv < 100]
    if bad:
        raise ValueError(f"level values must lie in (0, 100), got {bad}")
    return levels


def check_quantiles(quantiles) -> list[float]:
    qs = _numbers(quantiles, "quantiles")
    bad = [q for q in qs if not 0 < q < 1]
    if bad:
        raise ValueError(f"quantiles must lie in (0, 1), got {bad}")
    return qs


def _numbers(values, name: str) -> list[float]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of numbers, got {values!r}")
    values = list(values)
    bad = [v for v in values if not isinstance(v, numbers.Real) or isinstance(v, bool)]
    if bad:
        raise TypeError(f"{name} must be a list of numbers, got {bad} in it")
    return sorted(float(v) for v in values)


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_real(v, name: str, low: float, high: float) -> None:
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{name} must be a number, got {v!r}")
    if not low <= v < high:
        raise ValueError(f"{name} must lie in [{low}, {high}), got {v!r}")


def _check_weights_type(weights) -> None:
    if weights is None:
        return
    if not isinstance(weights, dict):
        raise TypeError(
            "target_weights must be None or a dict {target column: weight}, got "
            f"{type(weights).__name__}"
        )
    for name, w in weights.items():
        if not isinstance(name, str):
            raise TypeError(f"target_weights keys must be column names (str), got {name!r}")
        _check_real(w, f"target_weights[{name!r}]", 0, np.inf)


def target_weights(weights, target_cols) -> np.ndarray | None:
    """The per-target loss weights (C,) of `S5Forecaster(target_weights=...)`, or None.

    Targets not named keep weight 1; naming a column that is not a target is an error.
    """
    if weights is None:
        return None
    unknown = [k for k in weights if k not in target_cols]
    if unknown:
        raise ValueError(
            f"target_weights names {unknown}, which are not target columns "
            f"(targets: {list(target_cols)}); drop them or fix the names"
        )
    out = np.array([float(weights.get(c, 1.0)) for c in target_cols], np.float32)
    if not out.any():
        raise ValueError("target_weights gives every target weight 0; nothing would be fitted")
    return out
