"""No lower layer of vadkit imports a higher one.

Data flows one way (DESIGN.md): the base modules (``vadkit.errors``, ``vadkit.sampling``) <
``io`` < ``backbones`` < ``extract`` and ``datasets`` < ``evaluate`` < ``methods`` and ``train``
< ``viz``, ``protocols``, ``bench`` and ``engines`` < ``report`` and ``deploy`` < ``cli``. A module may import its own package and any lower layer; a
package of the same layer is off limits too (``extract`` does not reach into ``datasets``).
Imports inside functions count: a lazy import is still a dependency.

Within the layers: no import cycle (a package's ``__init__`` counts as a module), no module
imports through its own package (``from vadkit.train import data`` inside ``vadkit.train``),
and no module uses a private (``_name``) function, class, module or method of another
(``model._snippets(x)`` where only another module defines ``_snippets``): what two modules share
is public.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vadkit"

LAYERS = {
    "": 0,  # vadkit/__init__.py, errors.py, sampling.py, presets.py, user_warnings.py
    "io": 1,
    "backbones": 2,  # may use io's atomic writes (weights caches)
    "extract": 3,
    "datasets": 3,
    "evaluate": 4,
    "methods": 5,
    "train": 5,
    "viz": 6,  # figures from run directories (matplotlib Agg)
    "protocols": 6,
    "bench": 6,
    "engines": 6,  # local or Ray runners of the extraction stages and of sweeps
    "report": 7,  # the HTML report, made of viz figures
    "deploy": 7,  # predict (may draw viz figures), streams, export
    "demo": 7.5,  # `vadkit demo`: every stage and the report (above report, below cli)
    "cli": 8,
    "__main__": 9,  # vadkit/__main__.py: `python -m vadkit`, the CLI's entry point
}


def _package_of(module: str) -> str:
    """``vadkit.io.store`` -> ``io``; ``vadkit.errors`` / ``vadkit`` -> ``""`` (the base)."""
    parts = module.split(".")
    if len(parts) < 2 or (SRC / f"{parts[1]}.py").is_file():
        return ""
    return parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("vadkit")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "vadkit" or node.module.startswith("vadkit."):
                # from vadkit.train import data -> vadkit.train.data (a module, not the package)
                subs = {_resolve(f"{node.module}.{a.name}") for a in node.names}
                found += [(node.lineno, m) for m in sorted(subs - {None})]
                if None in subs:  # a name defined in the package's __init__
                    found.append((node.lineno, node.module))
    return found


def _resolve(dotted: str) -> str | None:
    """``dotted`` when it names a module or package of src/vadkit, else None."""
    rel = Path(*dotted.split(".")[1:])
    return dotted if (SRC / rel).with_suffix(".py").is_file() or (SRC / rel).is_dir() else None


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_package_has_a_layer():
    packages = {p.parent.relative_to(SRC).parts[0] for p in _modules() if p.parent != SRC}
    unknown = packages - set(LAYERS)
    assert not unknown, f"give these packages a layer in tests/test_layering.py: {unknown}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_import(path: Path):
    rel = path.relative_to(SRC)
    own = rel.parts[0] if len(rel.parts) > 1 else ("__main__" if rel.stem == "__main__" else "")
    bad = []
    for line, module in _imports(path):
        target = _package_of(module)
        if target == own or target not in LAYERS:
            continue
        if LAYERS[target] >= LAYERS[own]:
            bad.append(f"line {line}: {module} (layer {LAYERS[target]} >= {LAYERS[own]})")
    assert not bad, f"{rel} imports a layer at or above its own: " + "; ".join(bad)


def test_checker_sees_an_upward_import(tmp_path: Path):
    # the checker itself: a lazy import inside a function is found
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from vadkit.evaluate.expand import expand_snippets\n")
    assert _imports(f) == [(2, "vadkit.evaluate.expand")]
    assert _package_of("vadkit.sampling") == "" and _package_of("vadkit.io.store") == "io"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): {m for _, m in _imports(p)} - {_module_name(p)} for p in _modules()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each set of modules that reach one another through imports (more than one module)."""

    def reach(a: str) -> set[str]:
        seen, todo = set(), [a]
        while todo:
            for b in graph.get(todo.pop(), ()):
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    fwd = {a: reach(a) for a in graph}
    groups = {tuple(sorted({a} | {b for b in fwd[a] if a in fwd[b]})) for a in graph}
    return sorted(list(g) for g in groups if len(g) > 1)


def test_no_import_cycle():
    # a pair that imports each other (even lazily, even for types) is one module split in two
    # or a missing seam; a package's __init__ counts as a module: a module of the package that
    # imports a name from it while it imports that module is a cycle too
    cycles = _cycles(_graph())
    assert not cycles, "modules that import each other: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_cycle_finder():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"], ["e", "f"]]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_through_its_own_package(path: Path):
    # `from vadkit.train import data` inside vadkit.train runs through the package's __init__,
    # which imports this module: name the module itself (`import vadkit.train.data as tdata`).
    # vadkit/__init__.py is the base (it imports only vadkit.errors), so `from vadkit import`
    # is allowed.
    me = _module_name(path).split(".")
    own = {".".join(me[:i]) for i in range(2, len(me))}
    bad = [
        f"line {n.lineno}: from {n.module} import {', '.join(a.name for a in n.names)}"
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.ImportFrom) and n.module in own
    ]
    assert not bad, f"{path.relative_to(SRC)} imports through its own package: " + "; ".join(bad)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(path: Path, me: str) -> list[str]:
    """Private names of other vadkit modules that ``path`` (module ``me``) imports or reads."""
    tree = ast.parse(path.read_text())
    bad: list[tuple[int, int, str]] = []
    modules: set[str] = set()  # local names bound to a vadkit module
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith("vadkit"):
                    modules.add(a.asname or "vadkit")
                    if any(_private(x) for x in a.name.split(".")):
                        bad.append((n.lineno, n.col_offset, f"line {n.lineno}: import {a.name}"))
        elif isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("vadkit"):
            if n.module != me and any(_private(x) for x in n.module.split(".")):
                bad.append(
                    (n.lineno, n.col_offset, f"line {n.lineno}: from {n.module} (a private module)")
                )
            for a in n.names:
                if _resolve(f"{n.module}.{a.name}"):
                    modules.add(a.asname or a.name)
                if _private(a.name) and n.module != me:
                    bad.append(
                        (
                            n.lineno,
                            n.col_offset,
                            f"line {n.lineno}: from {n.module} import {a.name}",
                        )
                    )
    own = _defined(tree)
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and _private(n.attr):
            root = n.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not isinstance(root, ast.Name):
                continue
            if root.id in modules:
                bad.append((n.lineno, n.col_offset, f"line {n.lineno}: {ast.unparse(n)}"))
            elif root.id not in ("self", "cls") and n.attr not in own and n.attr in _private_defs():
                # obj._x where obj is some other vadkit module's object: model._snippets(x)
                bad.append((n.lineno, n.col_offset, f"line {n.lineno}: {ast.unparse(n)}"))
    return [text for *_, text in sorted(bad)]


def _defined(tree: ast.AST) -> set[str]:
    """Names a module defines: functions, classes, assigned names and ``self.x`` attributes."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            out.add(n.attr)
    return out


@functools.cache
def _private_defs() -> dict[str, set[str]]:
    """Each private name defined in src/vadkit -> the modules that define it."""
    out: dict[str, set[str]] = {}
    for path in _modules():
        for name in _defined(ast.parse(path.read_text())):
            if _private(name):
                out.setdefault(name, set()).add(_module_name(path))
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_of_another_module(path: Path):
    # a name another module needs is public (in __all__, with a docstring), or the two fold
    bad = _private_uses(path, _module_name(path))
    assert not bad, f"{path.relative_to(SRC)} uses private names of other modules: " + "; ".join(
        bad
    )


def test_private_use_checker(tmp_path: Path):
    f = tmp_path / "m.py"
    f.write_text(
        "import vadkit.bench.weak as wb\n"
        "from vadkit.io import video\n"
        "from vadkit.io.video import _reason, probe\n"
        "import vadkit.engines._ray\n"
        "def g(x):\n"
        "    return wb._store(x), video._AV_ERRORS, probe._y, x._y, wb.split_store(x)\n"
        "def h(model, x):\n"
        "    return model._snippets(x), x._not_defined_in_vadkit\n"
    )
    assert _private_uses(f, "vadkit.cli.m") == [
        "line 3: from vadkit.io.video import _reason",
        "line 4: import vadkit.engines._ray",
        "line 6: wb._store",
        "line 6: video._AV_ERRORS",
        "line 8: model._snippets",  # a method of vadkit.methods.rtfm.model (and others)
    ]
    f.write_text(f.read_text() + "def _snippets():\n    pass\n")  # its own name: not flagged
    assert _private_uses(f, "vadkit.io.video") == [
        "line 4: import vadkit.engines._ray",
        "line 6: wb._store",
        "line 6: video._AV_ERRORS",
    ]
