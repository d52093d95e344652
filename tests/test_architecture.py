"""Architecture rules: gridcore is pure, and imports point one way only.

gridcore runs identically in live trading and replay only if nothing in it reads the
outside world: no I/O, no clock, no randomness, no logging, no exchange client.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_THIRD_PARTY = {"numpy"}
#: Standard-library modules that touch the outside world or the clock.
FORBIDDEN_STDLIB = {
    "asyncio", "datetime", "http", "io", "logging", "multiprocessing", "os", "pathlib",
    "random", "secrets", "shutil", "socket", "sqlite3", "subprocess", "sys", "tempfile",
    "threading", "time", "urllib",
}
FORBIDDEN_CALLS = {"open", "print", "input", "eval", "exec", "__import__", "breakpoint"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules("gridcore"), ids=lambda p: str(p.relative_to(ROOT)))
def test_gridcore_module_imports_only_pure_modules(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top == "gridcore" or top in ALLOWED_THIRD_PARTY or (
            top in sys.stdlib_module_names and top not in FORBIDDEN_STDLIB
        ), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules("gridcore"), ids=lambda p: str(p.relative_to(ROOT)))
def test_gridcore_module_calls_no_io_builtins(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name} calls {node.func.id}()"


@pytest.mark.parametrize("path", _modules("daemons"), ids=lambda p: str(p.relative_to(ROOT)))
def test_daemons_module_never_imports_pipelines(path: Path) -> None:
    assert not any(n.split(".")[0] == "gridbot_pipelines" for n in _imports(path)), path.name


def test_purity_check_flags_a_clock_import(tmp_path: Path) -> None:
    """The checker itself must be able to fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom datetime import datetime\n")
    assert {"time", "datetime"} <= {n.split(".")[0] for n in _imports(bad)} & FORBIDDEN_STDLIB
