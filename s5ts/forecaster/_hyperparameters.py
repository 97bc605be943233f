"""The hyperparameters of `S5Forecaster`, described once: from its signature and docstring.

Front ends (the command line, benchmark scripts) build their options from
`hyperparameters()`, so a new hyperparameter appears in each of them with its default and
its meaning without a hand-kept copy.
"""

import inspect
import re
from dataclasses import dataclass

from ..network import DSS, S4D, S5, SharedClock, VariableClocks
from ..ssm import ZOH, Bilinear, Impulse
from ..training import LOSSES
from ._estimator import S5Forecaster


# Values a front end may name by a word, per option-object hyperparameter.
_CHOICES = {
    "discretisation": {cls.__name__: cls for cls in (ZOH, Impulse, Bilinear)},
    "loss": dict(LOSSES),
    "val_metric": dict(LOSSES),
    "duplicates": {"raise": "raise", "mean": "mean", "last": "last"},
    "ssm": {"S5": S5, "S4D": S4D, "DSS": DSS},
    "network": {"shared-clock": SharedClock, "variable-clocks": VariableClocks},
}
_ITEM = re.compile(r"^\s*- `(\w+)`: (.*)$")


@dataclass(frozen=True)
class Hyperparameter:
    """One argument of `S5Forecaster`: its name, default, meaning and the words a front
    end may use for it (`choices`: word -> value or option class; None: free value)."""

    name: str
    default: object
    help: str
    choices: dict | None = None

    def default_word(self) -> str | None:
        """The default as a front end shows it (an option object by its word)."""
        if self.choices is None:
            return None if self.default is None else str(self.default)
        for word, value in self.choices.items():
            if value == self.default or (
                isinstance(value, type) and isinstance(self.default, value)
            ):
                return word
        return str(self.default)

    def value_of(self, word: str):
        """The value a front end's word stands for (a fresh option object for a class)."""
        value = self.choices[word]
        return value() if isinstance(value, type) else value


def hyperparameters() -> list[Hyperparameter]:
    """Every hyperparameter of `S5Forecaster`, in signature order."""
    helps = _argument_help(S5Forecaster.__doc__ or "")
    out = []
    for p in inspect.signature(S5Forecaster.__init__).parameters.values():
        if p.name == "self":
            continue
        out.append(Hyperparameter(p.name, p.default, helps.get(p.name, ""), _CHOICES.get(p.name)))
    return out


def _argument_help(doc: str) -> dict[str, str]:
    """`name -> text` from the `**Arguments:**` list of a docstring (wrapped lines joined)."""
    out: dict[str, str] = {}
    current = None
    body = doc.split("**Arguments:**", 1)[-1]
    for line in inspect.cleandoc(body).splitlines():
        match = _ITEM.match(line)
        if match:
            current = match[1]
            out[current] = match[2].strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
        else:
            current = None
    return out
