"""Architecture rules: gridcore is pure, and imports point one way only.

gridcore runs identically in live trading and replay only if nothing in it reads the
outside world: no I/O, no clock, no randomness, no logging, no exchange client. So it may
import only the standard-library modules listed in ``ALLOWED_STDLIB`` (pure computation),
numpy (without its file and random functions) and itself.

The local venue is the ground truth the backtest is compared with; docs/validation.md requires
its matching to be independent of the backtest's fill models. So neither side may reach
the other, directly or through the modules it imports.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gridcore", "daemons", "gridbot_pipelines")
ALLOWED_THIRD_PARTY = {"numpy"}
#: Standard-library modules gridcore may import: pure computation only. Everything else
#: (time, os, io, uuid, ctypes, builtins, importlib, zoneinfo, random, ...) is refused.
#: json and hashlib serve ``gridcore.sim.digest`` (strings in, strings out; the file
#: variants json.load/json.dump are refused below).
ALLOWED_STDLIB = {
    "__future__", "abc", "bisect", "collections", "copy", "dataclasses", "decimal", "enum",
    "fractions", "functools", "hashlib", "heapq", "itertools", "json", "math", "numbers",
    "operator", "re", "types", "typing",
}
FORBIDDEN_CALLS = {"open", "print", "input", "eval", "exec", "__import__", "breakpoint"}
#: Attribute calls that read or write files, on any object (np.load, json.dump,
#: array.tofile, path.read_text, ...).
FORBIDDEN_ATTRIBUTE_CALLS = {
    "load", "dump", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
    "fromfile", "fromregex", "tofile", "memmap", "open", "read_text", "write_text",
    "read_bytes", "write_bytes",
}
#: numpy names that do I/O or draw random numbers, refused anywhere in a numpy attribute
#: chain (np.random.default_rng, np.lib.npyio, ...) or import.
FORBIDDEN_NUMPY_NAMES = FORBIDDEN_ATTRIBUTE_CALLS | {
    "random", "DataSource", "ctypeslib", "npyio", "f2py", "testing",
}
#: numpy's clock readers: np.datetime64("now"), np.datetime64("today").
CLOCK_STRINGS = {"now", "today"}

#: The venue side and the backtest side (docs/validation.md: the venue's matching must stay
#: independent of the backtest's fill models).
VENUE = ("daemons.venue",)
BACKTEST = ("gridcore.sim", "daemons.backtest")
#: What the venue may import from this repository: itself, and daemons.marketdata, the
#: raw tape input (bar and trade files, the calibrated trade generator) that both the
#: venue and the backtest replay. The input data is shared on purpose (both sides must see
#: the same market); how orders fill is not, and that lives in daemons.venue and
#: gridcore.sim alone. gridcore is not needed by the venue today: adding it means
#: deciding here, in review, that the piece is not a fill model.
VENUE_MAY_IMPORT = ("daemons.venue", "daemons.marketdata")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Absolute module names imported anywhere in ``path`` (``from x import y`` gives x)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _is_under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# --- gridcore purity -------------------------------------------------------------------


def import_violations(path: Path) -> list[str]:
    """Imports of ``path`` outside gridcore, numpy and ``ALLOWED_STDLIB``."""
    bad = []
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "gridcore" or top in ALLOWED_THIRD_PARTY or top in ALLOWED_STDLIB:
            continue
        bad.append(f"{path.name} imports {name}")
    return bad


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def call_violations(path: Path) -> list[str]:
    """I/O builtins, file-reading or file-writing attribute calls, numpy I/O/randomness."""
    tree = ast.parse(path.read_text(), str(path))
    numpy_aliases = {"numpy"}
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "numpy":
                    numpy_aliases.add(alias.asname or "numpy")
                    bad += [f"{path.name} imports {alias.name}"
                            for p in parts[1:] if p in FORBIDDEN_NUMPY_NAMES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy":
            parts = node.module.split(".")[1:] + [a.name for a in node.names]
            bad += [f"{path.name} imports {p} from {node.module}"
                    for p in parts if p in FORBIDDEN_NUMPY_NAMES]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_CALLS:
                bad.append(f"{path.name} calls {node.func.id}()")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in FORBIDDEN_ATTRIBUTE_CALLS:
                bad.append(f"{path.name} calls .{node.func.attr}()")
            if node.func.attr == "datetime64" and any(
                isinstance(a, ast.Constant) and a.value in CLOCK_STRINGS for a in node.args
            ):
                bad.append(f"{path.name} reads the clock with datetime64")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NUMPY_NAMES:
            chain = _dotted(node)
            if chain and chain[0] in numpy_aliases:
                bad.append(f"{path.name} uses {'.'.join(chain)}")
    return bad


@pytest.mark.parametrize("path", _modules("gridcore"), ids=lambda p: str(p.relative_to(ROOT)))
def test_gridcore_module_imports_only_allowed_modules(path: Path) -> None:
    assert import_violations(path) == []


@pytest.mark.parametrize("path", _modules("gridcore"), ids=lambda p: str(p.relative_to(ROOT)))
def test_gridcore_module_calls_no_io_clock_or_randomness(path: Path) -> None:
    assert call_violations(path) == []


def test_allowed_stdlib_names_are_real_stdlib_modules() -> None:
    assert ALLOWED_STDLIB <= set(sys.stdlib_module_names)


def test_purity_check_refuses_modules_a_deny_list_would_miss(tmp_path: Path) -> None:
    """The checker itself must be able to fail, also for modules nobody thought to deny."""
    bad = tmp_path / "bad.py"
    refused = ["time", "datetime", "uuid", "ctypes", "builtins", "importlib", "zoneinfo",
               "signal", "gc", "random", "os.path", "daemons.venue", "pandas"]
    bad.write_text("".join(f"import {name}\n" for name in refused)
                   + "from collections.abc import Callable\nimport numpy as np\n")
    assert import_violations(bad) == [f"bad.py imports {name}" for name in refused]


@pytest.mark.parametrize("source", [
    "import numpy as np\nnp.load('x.npy')",
    "import numpy as np\nnp.save('x', a)",
    "import numpy\nnumpy.fromfile('x')",
    "import numpy as n\nrng = n.random.default_rng(1)",
    "import numpy as np\nnp.random.seed(0)",
    "import numpy as np\nnp.lib.npyio.loadtxt('x')",
    "import numpy.random",
    "from numpy import random",
    "from numpy.random import default_rng",
    "from numpy import load as ld",
    "a.tofile('x')",
    "json.dump(obj, f)",
    "import builtins\nbuiltins.open('x')",
    "p.read_text()",
    "import numpy as np\nnp.datetime64('now')",
    "open('x')",
])
def test_purity_check_refuses_numpy_io_and_randomness(tmp_path: Path, source: str) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(source + "\n")
    assert call_violations(bad), source


def test_purity_check_accepts_pure_numpy_and_json(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text("import json\nimport numpy as np\n"
                    "a = np.asarray([1.0]); b = np.where(a > 0, a, np.nan)\n"
                    "s = json.dumps({'a': 1}); d = json.loads(s); np.datetime64(5, 'ms')\n")
    assert call_violations(good) == [] and import_violations(good) == []


# --- direction of imports ----------------------------------------------------------------


@pytest.mark.parametrize("path", _modules("daemons"), ids=lambda p: str(p.relative_to(ROOT)))
def test_daemons_module_never_imports_pipelines(path: Path) -> None:
    assert not any(n.split(".")[0] == "gridbot_pipelines" for n in _imports(path)), path.name


def module_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Repository module -> the repository modules importing it runs (parents included)."""
    paths = {_module_name(p, root): p
             for package in packages for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for candidate in candidates:
                parts = candidate.split(".")
                # Importing a.b.c runs a, a.b and a.b.c.
                targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & paths.keys()
        graph[name] = targets - {name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def independence_violations(graph: dict[str, set[str]]) -> list[str]:
    """Venue modules reaching the backtest, backtest or gridcore modules reaching the venue,
    and venue imports outside ``VENUE_MAY_IMPORT``."""
    bad = []
    for name in sorted(graph):
        reached = reachable(graph, name) - {name}
        if _is_under(name, VENUE):
            bad += [f"{name} reaches {t}" for t in sorted(reached) if _is_under(t, BACKTEST)]
            bad += [f"{name} imports {t} (not in VENUE_MAY_IMPORT)" for t in sorted(graph[name])
                    if not _is_under(t, VENUE_MAY_IMPORT) and t not in ("daemons",)]
        elif _is_under(name, ("gridcore", *BACKTEST)):
            bad += [f"{name} reaches {t}" for t in sorted(reached) if _is_under(t, VENUE)]
    return bad


def test_venue_and_backtest_never_import_each_other() -> None:
    graph = module_graph(ROOT, PACKAGES)
    assert any(_is_under(n, VENUE) for n in graph) and any(_is_under(n, BACKTEST) for n in graph)
    assert independence_violations(graph) == []


@pytest.mark.parametrize(("files", "expected"), [
    ({"daemons/venue/matching.py": "from gridcore.sim.fills import OptimisticFill"},
     "daemons.venue.matching reaches gridcore.sim.fills"),
    ({"daemons/venue/tape.py": "from daemons.marketdata.bars import iter_bars",
      "daemons/marketdata/bars.py": "from daemons.backtest import price_path"},
     "daemons.venue.tape reaches daemons.backtest.price_path"),
    ({"daemons/venue/book.py": "from ..backtest.runner import run_backtest"},
     "daemons.venue.book reaches daemons.backtest.runner"),
    ({"daemons/venue/book.py": "import gridcore.events"},
     "daemons.venue.book imports gridcore.events (not in VENUE_MAY_IMPORT)"),
    ({"gridcore/sim/queue_fill.py": "from daemons.venue import models"},
     "gridcore.sim.queue_fill reaches daemons.venue.models"),
    ({"daemons/backtest/runner.py": "import daemons.marketdata.bars",
      "daemons/marketdata/bars.py": "from daemons.venue.models import DepthModel"},
     "daemons.backtest.runner reaches daemons.venue.models"),
])
def test_independence_check_finds_direct_and_indirect_imports(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    """The checker itself must be able to fail, also through a shared module."""
    skeleton = ["gridcore/__init__.py", "gridcore/events.py", "gridcore/sim/__init__.py",
                "gridcore/sim/fills.py", "gridcore/sim/queue_fill.py", "daemons/__init__.py",
                "daemons/venue/__init__.py", "daemons/venue/models.py",
                "daemons/venue/matching.py", "daemons/venue/tape.py", "daemons/venue/book.py",
                "daemons/marketdata/__init__.py", "daemons/marketdata/bars.py",
                "daemons/backtest/__init__.py", "daemons/backtest/runner.py",
                "daemons/backtest/price_path.py"]
    for rel in skeleton:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(files.get(rel, "") + "\n")
    graph = module_graph(tmp_path, ("gridcore", "daemons"))
    assert expected in independence_violations(graph)
    for rel in files:  # without the offending import, the skeleton is clean
        (tmp_path / rel).write_text("\n")
    assert independence_violations(module_graph(tmp_path, ("gridcore", "daemons"))) == []
