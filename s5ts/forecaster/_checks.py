"""Checks of the forecaster's arguments, all before anything reaches JAX.

A bad argument fails here with a ValueError/TypeError that names it, instead of as an
error from deep inside tracing. Frame-level validation (columns, times, duplicates, ...)
lives in the DataFrame layer (`s5ts.data`).
"""

import numbers

import numpy as np

from ..network import AbstractNetwork, AbstractSSM
from ..ssm import AbstractDiscretisation
from ..training import as_loss


_POSITIVE_INTS = (
    "hidden_size state_size blocks n_layers batch_size max_steps eval_every patience".split()
)


def check_hyperparameters(params: dict) -> None:
    """ValueError / TypeError naming the first bad hyperparameter of `get_params()`."""
    for name in _POSITIVE_INTS:
        v = params[name]
        if not _is_int(v) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    _check_real(params["dropout"], "dropout", 0, 1)
    _check_real(params["val_size"], "val_size", 0, 1)
    _check_real(params["weight_decay"], "weight_decay", 0, np.inf)
    _check_real(params["ema_decay"], "ema_decay", 0, 1)
    _check_real(params["learning_rate"], "learning_rate", 0, np.inf)
    if not params["learning_rate"] > 0:
        raise ValueError(f"learning_rate must be positive, got {params['learning_rate']!r}")
    if params["state_size"] % (2 * params["blocks"]):
        raise ValueError(
            f"state_size ({params['state_size']}) must be a multiple of 2 * blocks "
            f"({2 * params['blocks']})"
        )
    folds = params["folds"]
    if folds != "auto" and (not _is_int(folds) or folds < 1):
        raise ValueError(f"folds must be 'auto' or a positive int, got {folds!r}")
    if not _is_int(params["random_state"]):
        raise TypeError(f"random_state must be an int seed, got {params['random_state']!r}")
    as_loss(params["val_metric"], "val_metric")
    as_loss(params["loss"], "loss")
    _check_weights_type(params["target_weights"])
    if params["duplicates"] not in ("raise", "mean", "last"):
        raise ValueError(
            f"duplicates must be 'raise', 'mean' or 'last', got {params['duplicates']!r}"
        )
    if not isinstance(params["ssm"], AbstractSSM):
        raise TypeError(
            f"ssm must be s5ts.S5(), s5ts.S4D(...) or s5ts.DSS(...), got {params['ssm']!r}"
        )
    if not isinstance(params["network"], AbstractNetwork):
        raise TypeError(
            "network must be s5ts.SharedClock() or s5ts.VariableClocks(...), got "
            f"{params['network']!r}"
        )
    rule = params["discretisation"]
    if rule is not None and not isinstance(rule, AbstractDiscretisation):
        raise TypeError(f"discretisation must be a rule object such as s5ts.ZOH(), got {rule!r}")


def check_fit_panel(panel) -> None:
    """What fit cannot learn from: targets that are never observed."""
    check_observed(panel.target_cols, (~np.isnan(panel.values)).sum(0))


def check_observed(target_cols, counts) -> None:
    """ValueError naming the targets with no observed value (`counts` (C,))."""
    never = [c for c, n in zip(target_cols, counts, strict=True) if n == 0]
    if never:
        raise ValueError(
            f"target column(s) {never} have no observed value in df; drop them from "
            "target_cols (nothing can be learned about them)"
        )


def check_levels(level) -> list[float]:
    levels = _numbers(level, "level")
    given = level if isinstance(level, list | tuple) else levels  # the caller's order
    fractions = [lv for lv in levels if 0 < lv < 1]
    if fractions:
        # 0.8 is almost surely an 80 % interval written as a fraction, not a 0.8 % one.
        raise ValueError(
            f"level values are percentages in (1, 100) (80 for an 80 % interval), got "
            f"{fractions}; pass level={[_percent(lv) for lv in given]}"
        )
    bad = [lv for lv in levels if not 1 < lv < 100]
    if bad:
        raise ValueError(f"level values must be percentages in (1, 100), got {bad}")
    return levels


def _percent(lv):
    p = round(float(lv) * 100, 6) if 0 < lv < 1 else float(lv)
    return int(p) if p.is_integer() else p


def check_quantiles(quantiles) -> list[float]:
    qs = _numbers(quantiles, "quantiles")
    bad = [q for q in qs if not 0 < q < 1]
    if bad:
        raise ValueError(f"quantiles must lie in (0, 1), got {bad}")
    return qs


def check_callbacks(callbacks) -> tuple:
    if callbacks is None:
        return ()
    if callable(callbacks):
        callbacks = [callbacks]
    callbacks = tuple(callbacks)
    bad = [c for c in callbacks if not callable(c)]
    if bad:
        raise TypeError(f"callbacks must be callables (or a list of them), got {bad!r}")
    return callbacks


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


def _check_real(v, name: str, low: float | int, high: float | int) -> None:
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
