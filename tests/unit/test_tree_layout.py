"""The tree's own rules, read from the source (nothing is imported): `tests/` and `bench/` are
independent, `devkit/` (what both share) imports neither, and no machine-specific path is
hard-coded where a default belongs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_roots(folder: str) -> dict[str, set[str]]:
    """File -> the top-level packages it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / folder).rglob("*.py")):
        roots = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        found[path.relative_to(REPO).as_posix()] = roots
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("tests", {"bench"}), ("bench", {"tests"}), ("devkit", {"tests", "bench"}), ("src", {"tests", "bench", "devkit"})],
)
def test_imports_respect_the_tree(folder: str, forbidden: set[str]) -> None:
    offenders = {path: roots & forbidden for path, roots in imported_roots(folder).items() if roots & forbidden}
    assert offenders == {}


def test_bench_hard_codes_no_machine_specific_path() -> None:
    for path in sorted((REPO / "bench").rglob("*.py")):
        text = path.read_text()
        for prefix in ("/work/", "/root/", "/home/"):
            assert prefix not in text, f"{path.relative_to(REPO)} names {prefix}..."
