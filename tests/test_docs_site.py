"""The documentation site (mkdocs.yml, docs/) covers the public API and every page.

Every public name of the curated namespaces below must be documented by a mkdocstrings
`::: <path>` directive in some `docs/api/*.md`, under any public path that names the same
object (`s5ts.S5Forecaster` covers `s5ts.forecaster.S5Forecaster`): a new public object
without a reference entry fails here. Every page in docs/ must be in the nav. The site
itself is built by `.venv/bin/mkdocs build --strict` (`.ci/run`); this test needs only
the package, not mkdocs.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NAMESPACES = ("s5ts", "s5ts.ssm", "s5ts.data", "s5ts.forecaster", "s5ts.cli", "s5ts.datasets")
DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def _public_names(module) -> list[str]:
    """The names a curated `__init__` exports: `__all__`, or else the names its own source
    binds without a leading underscore (not submodules that other imports attach to the
    package, such as `s5ts.network`; not modules from outside s5ts, such as `importlib`)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = []
        for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names += [a.asname or a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.append(node.name)
    out = []
    for name in dict.fromkeys(names):
        obj = getattr(module, name)
        if name.startswith("_") or (inspect.ismodule(obj) and not obj.__name__.startswith("s5ts.")):
            continue
        out.append(name)
    return out


def _exports() -> dict[str, object]:
    """`{"module.name": object}` for every public name of every namespace."""
    out = {}
    for module_name in NAMESPACES:
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            out[f"{module_name}.{name}"] = getattr(module, name)
    return out


def _resolve(path: str):
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _directives() -> dict[str, str]:
    """`{identifier: page}` of every `::: identifier` in docs/api/*.md."""
    out = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for ident in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            out[ident] = page.name
    return out


def _nav_pages() -> set[str]:
    """The pages named in the `nav:` section of mkdocs.yml (read without a YAML parser)."""
    lines = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("nav:")
    nav = []
    for line in lines[start + 1 :]:
        if line.strip() and not line.startswith((" ", "-", "#")):
            break  # the next top-level key
        nav.append(line.split("#", 1)[0])
    return set(re.findall(r"[\w./-]+\.md", "\n".join(nav)))


EXPORTS = _exports()
DIRECTIVES = _directives()


def test_the_walk_sees_the_namespaces():
    # A broken walk would silently check nothing.
    for path in ("s5ts.S5Forecaster", "s5ts.ssm.S4DLegS", "s5ts.data.to_panel", "s5ts.cli.main"):
        assert path in EXPORTS, path
    assert {"s5ts.datasets.synthetic_vitals", "s5ts.forecaster.FittedForecaster"} <= set(EXPORTS)
    assert "s5ts.ssm" in EXPORTS and "s5ts.importlib" not in EXPORTS
    assert "s5ts.network" not in EXPORTS  # a submodule, not a name of the `__init__`
    assert "s5ts.S5Forecaster" in DIRECTIVES


@pytest.mark.parametrize("path", sorted(EXPORTS))
def test_every_public_name_has_a_reference_entry(path):
    obj = EXPORTS[path]
    names_of_it = {p for p, o in EXPORTS.items() if o is obj}
    documented = names_of_it & set(DIRECTIVES)
    assert documented, (
        f"{path} is public but no docs/api/*.md has a `::: <path>` directive for it; add "
        f"`::: {min(names_of_it, key=len)}` to the page of its wing"
    )


def test_every_directive_names_a_real_object():
    # A stale directive (a renamed or removed object) names nothing.
    for ident, page in DIRECTIVES.items():
        try:
            _resolve(ident)
        except (ImportError, AttributeError):
            pytest.fail(f"docs/api/{page}: `::: {ident}` names no object")


def test_every_object_is_documented_once():
    # Two entries for one object would give two anchors and two competing pages.
    seen: dict[int, str] = {}
    for ident in DIRECTIVES:
        obj = _resolve(ident)
        if inspect.ismodule(obj) or isinstance(obj, int | float | str | tuple | dict):
            continue
        assert id(obj) not in seen, f"{ident} and {seen[id(obj)]} document the same object"
        seen[id(obj)] = ident


def test_every_page_is_in_the_nav():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    nav = _nav_pages()
    assert pages - nav == set(), f"pages missing from the nav of mkdocs.yml: {pages - nav}"
    assert nav - pages == set(), f"the nav of mkdocs.yml names missing pages: {nav - pages}"
