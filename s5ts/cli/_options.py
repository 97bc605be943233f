"""Command-line options for every `S5Forecaster` hyperparameter, built from the estimator.

`add_hyperparameters` turns `s5ts.forecaster.hyperparameters()` (the estimator's
signature and docstring) into argparse options with the estimator's defaults and
meanings; `hyperparameters_from` turns the parsed options back into keyword arguments.
An option not given is not passed, so the estimator's own default applies.
"""

import argparse
import re

from ..forecaster import Hyperparameter, S5Forecaster, check_hyperparameters, hyperparameters
from ._wording import flag, in_flags


_SKIP = ("verbose",)  # set by --quiet


def span(text: str):
    """A span option: a number in the data's time unit, a string such as '24h', or
    `None` (what the option's help calls the default)."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        w = float(value)
    except ValueError:
        sep = ""
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT (e.g. HR=2), got {text!r}")
    return name, w


def add_hyperparameters(group, overrides: dict | None = None, skip=()) -> None:
    """Add one option per `S5Forecaster` hyperparameter (`--hidden-size`, ...).

    **Arguments:**

    - `group`: an `argparse` parser or argument group.
    - `overrides`: `{name: value}` replacing the estimator's defaults (a benchmark's
      settings); those options are always passed, the others only when given.
    - `skip`: names of hyperparameters the caller sets itself (no option is added);
      `verbose` never gets one (`--quiet` sets it).
    """
    overrides = overrides or {}
    for hp in hyperparameters():
        if hp.name in _SKIP or hp.name in skip:
            continue
        kwargs = _kind(hp)
        if hp.name in overrides:
            kwargs["default"] = overrides[hp.name]
            shown = overrides[hp.name]
        else:
            kwargs["default"] = argparse.SUPPRESS
            shown = hp.default_word()
        text = in_flags(hp.help.replace("`", "")).replace("%", "%%")
        kwargs["help"] = f"{text} (default: {shown})"
        group.add_argument(flag(hp.name), dest=hp.name, **kwargs)


def hyperparameters_from(args: argparse.Namespace, skip=()) -> dict:
    """Keyword arguments for `S5Forecaster` from the parsed options.

    **Arguments:**

    - `args`: the parsed options.
    - `skip`: names of hyperparameters to leave out, as in `add_hyperparameters`.

    **Returns:**

    `{name: value}` for the options given (or overridden): a choice's word becomes the
    value it stands for (a fresh option object for a class), `--target-weights` a dict.
    """
    out = {}
    for hp in hyperparameters():
        if hp.name in _SKIP or hp.name in skip or not hasattr(args, hp.name):
            continue
        value = getattr(args, hp.name)
        if hp.choices is not None and isinstance(value, str) and value in hp.choices:
            value = hp.value_of(value)
        elif hp.name == "target_weights" and value is not None:
            value = dict(value)
        out[hp.name] = value
    return out


def check_options(params: dict) -> None:
    """Validate keyword arguments for `S5Forecaster` now, before any file is read; the
    error names the command-line flag (`--max-steps`), not the Python argument."""
    try:
        check_hyperparameters(S5Forecaster(**params).get_params())
    except (TypeError, ValueError) as err:
        names = "|".join(hp.name for hp in hyperparameters())
        text = re.sub(rf"\b({names})\b", lambda m: flag(m[1]), str(err))
        raise type(err)(text) from None


def _kind(hp: Hyperparameter) -> dict:
    if hp.choices is not None:
        choices = list(hp.choices)
        return {
            "choices": choices,
            "type": _any_case(choices),
            "metavar": "{" + ",".join(choices) + "}",
        }
    if hp.name == "target_weights":
        return {"type": weight, "nargs": "+", "metavar": "NAME=WEIGHT"}
    if hp.name == "folds":
        return {"type": _auto_or_int, "metavar": "{auto,N}"}
    if hp.default is None:
        return {"type": span, "metavar": "SPAN"}
    if isinstance(hp.default, bool):
        return {"type": _boolean, "metavar": "{true,false}"}
    if isinstance(hp.default, int):
        return {"type": int, "metavar": "N"}
    if isinstance(hp.default, float):
        return {"type": float, "metavar": "X"}
    return {"type": str}


def _any_case(choices: list[str]):
    """A choice in any case (`zoh` for `ZOH`, `MSE` for `mse`); anything else as typed,
    for argparse to refuse with the list of choices."""
    by_lower = {c.lower(): c for c in choices}
    return lambda text: by_lower.get(text.lower(), text)


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _auto_or_int(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        msg = f"expected 'auto' or a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
