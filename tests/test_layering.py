"""No lower layer of vadkit imports a higher one.

Data flows one way (DESIGN.md): the base modules (``vadkit.errors``, ``vadkit.sampling``) <
``io`` < ``backbones`` < ``extract`` and ``datasets`` < ``evaluate`` < ``methods`` and ``train``
< ``viz``, ``protocols``, ``bench`` and ``engines`` < ``report`` and ``deploy`` < ``cli``. A module may import its own package and any lower layer; a
package of the same layer is off limits too (``extract`` does not reach into ``datasets``).
Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vadkit"

LAYERS = {
    "": 0,  # vadkit/__init__.py, errors.py, sampling.py
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
            if node.module == "vadkit":  # from vadkit import sampling -> vadkit.sampling
                found += [(node.lineno, f"vadkit.{a.name}") for a in node.names]
            elif node.module.startswith("vadkit."):
                found.append((node.lineno, node.module))
    return found


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


def test_no_two_modules_import_each_other():
    # inside a package too: a pair that imports each other (even lazily, even for types)
    # is one module split in two, or a missing seam
    graph = {_module_name(p): {m for _, m in _imports(p)} for p in _modules()}
    pairs = sorted(
        f"{a} <-> {b}"
        for a, targets in graph.items()
        for b in targets
        if a < b
        and b in graph
        and not a.endswith(".__init__")
        and a in graph[b]
        and not (b.startswith(a + ".") or a.startswith(b + "."))  # a package and its modules
    )
    assert not pairs, "modules that import each other: " + "; ".join(pairs)
