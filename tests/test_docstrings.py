"""One docstring style (Equinox's) across the public API.

A one-line summary, an optional paragraph, then `**Arguments:**` listing every parameter
by name (`` `name` ``, several on one line allowed) and `**Returns:**` saying what comes
back. A class lists its constructor's arguments in its own or its `__init__` docstring.

Public: the functions and classes the namespaces below export, and the methods of those
classes whose names do not start with `_` (plus `__call__`), inherited ones included when
defined in s5ts. A method without a docstring of its own inherits its parent's (as
`inspect.getdoc` and documentation tools do), so an override of a documented abstract
method passes when it keeps the parameter names.
"""

import inspect

import pytest

import s5ts
import s5ts.cli
import s5ts.data
import s5ts.datasets
import s5ts.ssm


NAMESPACES = (s5ts, s5ts.ssm, s5ts.data, s5ts.datasets, s5ts.cli)

# The forecaster wing (`s5ts.forecaster`, the losses) is being brought into this style
# separately: remove a name from here once its docstrings follow it.
PENDING = {
    "S5Forecaster",
    "ForecastState",
    "NotFittedError",
    "BaselineWarning",
    "AbstractLoss",
    "GaussianNLL",
    "SquaredError",
}

# Functions (by `__qualname__`) that return something but have no return annotation; an
# annotation other than `None` says the same for the rest.
RETURNS_UNANNOTATED = {
    "plot_forecast",
    "synthetic_vitals",
    "ZOH.__call__",
    "Bilinear.__call__",
    "Impulse.__call__",
    "DSSExp.output_gains",
    "DSSSoftmax.output_gains",
    "SSMBlock.scan",
    "SSMBlock.step",
    "SSMStack.step",
    "SSMStack.jump",
}

ARGUMENTS, RETURNS = "**Arguments:**", "**Returns:**"
_CONSTANTS = (int, float, str, tuple, dict, frozenset)


def _exports():
    """`{name: object}` of every public function and class of the namespaces."""
    out = {}
    for module in NAMESPACES:
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for name in names:
            obj = getattr(module, name)
            if name in PENDING or inspect.ismodule(obj) or isinstance(obj, _CONSTANTS):
                continue
            assert inspect.isfunction(obj) or inspect.isclass(obj), (
                f"{module.__name__}.{name}: a public {type(obj).__name__}; "
                "teach this test how to read its signature"
            )
            out.setdefault(name, obj)
    return out


def _methods(cls):
    """`(bound, raw)` of the public methods of `cls` defined in s5ts, most derived first."""
    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("s5ts"):
            continue
        for name, raw in vars(klass).items():
            if name in seen or (name[0] == "_" and name != "__call__"):
                continue
            seen.add(name)
            if isinstance(raw, staticmethod | classmethod) or inspect.isfunction(raw):
                yield getattr(cls, name), raw


def _parameters(func, drop_first: bool) -> list[str]:
    params = list(inspect.signature(func).parameters.values())
    params = params[1:] if drop_first else params
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in params if p.kind not in variadic]


def _returns_something(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    if annotation is inspect.Signature.empty:
        return func.__qualname__ in RETURNS_UNANNOTATED
    return annotation not in (None, "None", type(None))


def _collect():
    """`{qualname: (docstring, parameter names, returns something)}` per public callable.

    Methods are named where they are defined (`AbstractSSMLayer.scan`), so each is checked
    once whichever classes inherit it.
    """
    items = {}
    for obj in _exports().values():
        if inspect.isfunction(obj):
            items[obj.__qualname__] = (
                inspect.getdoc(obj) or "",
                _parameters(obj, False),
                _returns_something(obj),
            )
            continue
        init = obj.__init__
        init_doc = init.__doc__ if inspect.isfunction(init) else None
        doc = "\n\n".join(filter(None, [inspect.getdoc(obj), inspect.cleandoc(init_doc or "")]))
        items[obj.__qualname__] = (doc, _parameters(init, True), False)
        for bound, raw in _methods(obj):
            func = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
            if func.__qualname__ in items:  # inherited, already seen through another class
                continue
            drop_first = not isinstance(raw, staticmethod)  # `self` or `cls`
            items[func.__qualname__] = (
                inspect.getdoc(bound) or "",
                _parameters(func, drop_first),
                _returns_something(func),
            )
    return items


ITEMS = _collect()


def _section(doc: str, title: str) -> str:
    """The text of the `title` section, up to the next `**...:**` heading."""
    rest = doc.split(title, 1)[1]
    ends = [rest.find(h) for h in (ARGUMENTS, RETURNS) if h in rest]
    return rest[: min(ends)] if ends else rest


@pytest.mark.parametrize("name", sorted(ITEMS))
def test_arguments_and_returns_documented(name):
    doc, params, returns = ITEMS[name]
    assert doc.strip(), f"{name} has no docstring"
    if params:
        assert ARGUMENTS in doc, f"{name} takes {params} but has no {ARGUMENTS} section"
        section = _section(doc, ARGUMENTS)
        missing = [p for p in params if f"`{p}`" not in section]
        assert not missing, f"{name}: {ARGUMENTS} does not list {missing}"
    if returns:
        assert RETURNS in doc, f"{name} returns a value but has no {RETURNS} section"
        assert _section(doc, RETURNS).strip(), f"{name}: empty {RETURNS} section"


def test_lists_name_real_objects():
    # A stale name would silently stop checking anything.
    assert RETURNS_UNANNOTATED <= set(ITEMS), sorted(RETURNS_UNANNOTATED - set(ITEMS))
    # The walk reaches exports, their methods and methods inherited from private bases.
    for name in ("to_panel", "main", "S5Layer", "Scaler.fit", "TimeScale.from_dict"):
        assert name in ITEMS, name
    assert {"AbstractSSMLayer.jump", "AbstractSISOLayer.kernel", "SSMStack.scan"} <= set(ITEMS)
    assert not PENDING & {q.split(".")[0] for q in ITEMS}
