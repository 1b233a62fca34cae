"""The three floors, checked on the source: the core imports no feature, onec imports nothing of ours,
features never reach up to the assembly, and nobody in the product imports the emulators."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = "b24app"
LEAF = "onec"
FEATURES = {"sync_jobs", "bizproc_templates", "cabinet", "timesheets", "outreach"}
TOP = "service"
OURS = {CORE, LEAF, TOP, "emulators", "bench", "tests", *FEATURES}


def _packages() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name in OURS - {"tests"})


def _imports(package: str) -> list[tuple[str, str]]:
    """(module file, imported top-level package of ours) for every import in the package."""
    edges = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            edges += [(str(path.relative_to(ROOT)), name.split(".")[0]) for name in names
                      if name.split(".")[0] in OURS]
    return edges


def _allowed(package: str) -> set[str]:
    if package == CORE:
        return {CORE}
    if package == LEAF:
        return {LEAF}
    if package in FEATURES:
        return {CORE, LEAF, *FEATURES}
    if package == "emulators":
        return {"emulators"}
    return OURS - {"tests"}  # the assembly and the benchmarks may use everything


@pytest.mark.parametrize("package", _packages())
def test_imports_flow_down_the_floors(package: str) -> None:
    wrong = [f"{module} imports {target}" for module, target in _imports(package)
             if target not in _allowed(package)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_forbidden_edge(tmp_path: Path) -> None:
    """The walker itself finds an import of a feature in the core (so an empty result means something)."""
    assert ("b24app/app.py", "b24app") in _imports(CORE)
    assert {target for _, target in _imports("sync_jobs")} >= {"b24app", "onec"}
