"""The package's shape: wings that import downwards only, no cycles, Equinox's
abstract/final pattern in the SSM core, and option objects in place of strings."""

import ast
import inspect
import re
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import s5ts
from s5ts import ssm


ROOT = Path(s5ts.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every s5ts module -> the s5ts modules it imports, lazy (in-function) imports too."""
    graph = {}
    for file in ROOT.rglob("*.py"):
        name = _module_name(file)
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        out = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("s5ts"):
                    continue
                for alias in node.names:  # `from . import x` may name a submodule
                    sub = f"{target}.{alias.name}"
                    out.add(
                        sub
                        if (ROOT.parent / sub.replace(".", "/")).exists()
                        or (ROOT.parent / (sub.replace(".", "/") + ".py")).exists()
                        else target
                    )
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("s5ts")}
        graph[name] = out
    return graph


def _in_wing(module: str, wing: str) -> bool:
    return module == wing or module.startswith(wing + ".")


def test_no_import_cycles():
    graph = _imports()
    # A package's __init__ re-exporting its own modules is not a cycle of code.
    edges = {
        m: {t for t in ts if t in graph and not (m.endswith("__init__") or _in_wing(m, t))}
        for m, ts in graph.items()
    }
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for t in edges[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, m, t]))
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in edges:
        if m not in state:
            visit(m, [])


def test_wings_import_downwards_only():
    graph = _imports()
    for module, targets in graph.items():
        if _in_wing(module, "s5ts.ssm"):
            outside = {t for t in targets if not _in_wing(t, "s5ts.ssm")}
            assert outside <= {"s5ts._array_types"}, (module, outside)
        if _in_wing(module, "s5ts.data"):
            assert all(_in_wing(t, "s5ts.data") for t in targets), (module, targets)
        if _in_wing(module, "s5ts.batching"):  # host-side numpy: below the networks
            below = ("s5ts.batching", "s5ts._array_types")
            assert all(any(_in_wing(t, w) for w in below) for t in targets), (module, targets)
        if _in_wing(module, "s5ts.network"):
            above = ("s5ts.training", "s5ts.forecaster", "s5ts.data")
            assert not any(_in_wing(t, w) for t in targets for w in above), (module, targets)
        if _in_wing(module, "s5ts.training"):
            assert not any(_in_wing(t, "s5ts.forecaster") for t in targets), (module, targets)
        if not _in_wing(module, "s5ts.cli") and module not in ("s5ts", "s5ts.__main__"):
            assert not any(_in_wing(t, "s5ts.cli") for t in targets), (module, targets)


def test_no_private_calls_into_the_estimator_outside_the_forecaster_wing():
    pattern = re.compile(r"\b(est|estimator|forecaster|model)\._[a-z]\w*")
    for file in ROOT.rglob("*.py"):
        if _in_wing(_module_name(file), "s5ts.forecaster"):
            continue
        assert not pattern.search(file.read_text()), file


def test_at_most_a_dozen_modules_at_the_top():
    top = [p.name for p in ROOT.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 12, sorted(top)
    wings = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert {"ssm", "data", "batching", "network", "training", "forecaster", "cli"} <= wings


def _ssm_classes():
    return [
        obj
        for obj in vars(ssm).values()
        if inspect.isclass(obj) and issubclass(obj, s5ts.AbstractSSMLayer)
    ]


def test_abstract_final_pattern_in_the_ssm_core():
    base = s5ts.AbstractSSMLayer
    concrete = {
        name
        for name, f in vars(base).items()
        if callable(f) and not getattr(f, "__isabstractmethod__", False) and name != "__init__"
    }
    assert {"scan", "step", "jump", "__call__", "init_state"} <= concrete
    for cls in _ssm_classes():
        for klass in cls.__mro__[: cls.__mro__.index(base)]:
            assert not (concrete & set(vars(klass))), (klass, concrete & set(vars(klass)))
        if not cls.__name__.startswith("Abstract"):
            # Concrete classes are final: nothing in the core subclasses them.
            assert not any(c is not cls and issubclass(c, cls) for c in _ssm_classes()), cls


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_negative_or_nan_gap_raises_under_jit(bad):
    layer = s5ts.S5Layer(4, 8, key=jax.random.key(0))
    u = jnp.ones((5, 4))
    dt = jnp.array([1.0, 0.5, bad, 0.1, 0.2])
    with pytest.raises(Exception, match="dt must be >= 0"):
        jax.block_until_ready(eqx.filter_jit(layer)(u, dt))
    with pytest.raises(Exception, match="dt must be >= 0"):
        jax.block_until_ready(eqx.filter_jit(layer.jump)(layer.init_state(), bad))
    assert jnp.isfinite(eqx.filter_jit(layer)(u, jnp.abs(jnp.nan_to_num(dt)))).all()


def test_options_are_objects_and_strings_are_aliases():
    key = jax.random.key(0)
    for alias, obj in [
        ("legs", ssm.S4DLegS()),
        ("inv", ssm.S4DInv()),
        ("lin", ssm.S4DLin()),
        ("real", ssm.S4DReal()),
    ]:
        a = s5ts.S4DLayer(3, 8, init=alias, key=key)
        b = s5ts.S4DLayer(3, 8, init=obj, key=key)
        assert a.init == obj and eqx.tree_equal(a, b)
    soft = s5ts.DSSLayer(3, 4, variant=ssm.DSSSoftmax(16), key=key)
    assert eqx.tree_equal(soft, s5ts.DSSLayer(3, 4, variant="softmax", length=16, key=key))
    with pytest.raises(ValueError, match="S4D initialisation object"):
        s5ts.S4DLayer(3, 8, init="legendre", key=key)
    with pytest.raises(ValueError, match="DSS variant object"):
        s5ts.DSSLayer(3, 4, variant="sigmoid", key=key)
    est = s5ts.S5Forecaster()
    assert est.loss == s5ts.GaussianNLL() and est.discretisation == s5ts.ZOH()
    assert repr(s5ts.S5Forecaster(loss=s5ts.SquaredError())) == (
        "S5Forecaster(loss=SquaredError())"
    )
