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
from collections.abc import Iterable, Iterator
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


def _repository_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    return {_module_name(p, root): p
            for package in packages for p in sorted((root / package).rglob("*.py"))}


def _named_modules(name: str, path: Path) -> Iterator[tuple[str | None, list[str]]]:
    """Per import statement anywhere in the module (functions and ``if TYPE_CHECKING``
    blocks included): for ``from x import y, z`` x and [x.y, x.z], for ``import a, b``
    None and [a, b]; relative imports made absolute."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield None, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, [f"{base}.{alias.name}" for alias in node.names]


def _with_parents(names: Iterable[str]) -> set[str]:
    """Importing a.b.c runs a, a.b and a.b.c."""
    return {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)}


def module_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Repository module -> the repository modules importing it runs (parents included)."""
    paths = _repository_modules(root, packages)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for base, names in _named_modules(name, path):
            targets |= _with_parents([*names, *([base] if base else [])]) & paths.keys()
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


# --- no import cycles; the trading daemon's neighbours ----------------------------------

#: Cycles their owners break next; each case fails (strict xfail) once its cycle is gone,
#: so the entry is removed with the fix. Everywhere else a cycle fails the build.
CYCLES_BEING_BROKEN: dict[str, str] = {}
TRADING, CAPTURE = "daemons.trading", "daemons.capture"


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Module -> the repository modules it imports, for finding cycles.

    Every import counts, also one inside a function or under ``if TYPE_CHECKING`` (a
    cycle broken that way is still two modules that need each other). What ``from a
    import b`` names is the module a.b when there is one, else a. A module's own parent
    packages are left out: Python runs them before the module anyway, and a package's
    ``__init__`` that re-exports its modules is no cycle.
    """
    paths = _repository_modules(root, packages)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        own_parents = _with_parents([name]) - {name}
        named: set[str] = set()
        for base, names in _named_modules(name, path):
            if base is None:
                named.update(names)
            else:  # a module of base, else a name defined in base
                named.update(n if n in paths else base for n in names)
        named &= paths.keys()
        implied = (_with_parents(named) - own_parents) & paths.keys()
        graph[name] = (named | implied) - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of modules that import each other (strongly connected, two or more),
    each sorted, found without recursion (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    cycles.append(sorted(members))
    return sorted(cycles)


def _area(module: str) -> str:
    """The package a module belongs to for these rules: daemons.<x>, else the top level."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "daemons" and len(parts) > 1 else parts[0]


_GRAPH = import_graph(ROOT, PACKAGES)
_AREAS = sorted({_area(m) for m in _GRAPH})


@pytest.mark.parametrize("area", [
    pytest.param(area, marks=pytest.mark.xfail(strict=True, reason=CYCLES_BEING_BROKEN[area]))
    if area in CYCLES_BEING_BROKEN else area for area in _AREAS])
def test_package_modules_import_no_cycle(area: str) -> None:
    """No two modules need each other: a cycle makes import order matter, and it hides
    which of two modules is the seam (docs/architecture.md)."""
    touching = [c for c in import_cycles(_GRAPH) if any(_area(m) == area for m in c)]
    assert touching == [], " | ".join(" <-> ".join(c) for c in touching)


def test_cycles_being_broken_name_real_packages() -> None:
    assert set(CYCLES_BEING_BROKEN) <= set(_AREAS)


def reaching(graph: dict[str, set[str]], sources: str, targets: str) -> list[str]:
    """Modules of package ``sources`` that run a module of ``targets``, directly or not."""
    return [f"{m} reaches {t}" for m in sorted(graph) if _is_under(m, (sources,))
            for t in sorted(reachable(graph, m)) if _is_under(t, (targets,))]


def test_trading_never_reaches_the_venue() -> None:
    """The trading daemon talks to an exchange (Bybit, or the venue as a server) through
    the Bybit adapter only: it never runs the venue's code."""
    graph = module_graph(ROOT, PACKAGES)
    assert any(_is_under(m, (TRADING,)) for m in graph)
    assert reaching(graph, TRADING, "daemons.venue") == []


def test_trading_and_capture_never_import_each_other() -> None:
    """What they share (the private decoder, the writer, what is enabled) lives in
    daemons.bybit and daemons.db; neither daemon runs the other's code."""
    graph = module_graph(ROOT, PACKAGES)
    assert any(_is_under(m, (CAPTURE,)) for m in graph)
    assert reaching(graph, TRADING, CAPTURE) + reaching(graph, CAPTURE, TRADING) == []


def test_reaching_finds_an_import_through_a_shared_module(tmp_path: Path) -> None:
    files = {"daemons/trading/worker.py": "from daemons.db import event_rows",
             "daemons/db/event_rows.py": "def rows():\n    from daemons.capture import rows",
             "daemons/capture/rows.py": "", "daemons/capture/daemon.py": ""}
    _write_tree(tmp_path, files)
    graph = module_graph(tmp_path, ("daemons",))
    assert reaching(graph, TRADING, CAPTURE) == ["daemons.trading.worker reaches "
                                                 "daemons.capture.rows"]
    assert reaching(graph, CAPTURE, TRADING) == []


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n")


@pytest.mark.parametrize(("files", "expected"), [
    ({"pkg/a.py": "from pkg import b", "pkg/b.py": "import pkg.c", "pkg/c.py": "from . import a"},
     [["pkg.a", "pkg.b", "pkg.c"]]),
    ({"pkg/a.py": "def f():\n    from pkg.b import g", "pkg/b.py": "from pkg.a import f"},
     [["pkg.a", "pkg.b"]]),
    ({"pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B",
      "pkg/b.py": "import pkg.a"}, [["pkg.a", "pkg.b"]]),
    ({"pkg/__init__.py": "from pkg.a import A", "pkg/a.py": "from pkg import b",
      "pkg/b.py": "X = 1"}, []),
    ({"pkg/__init__.py": "from pkg.a import A", "pkg/a.py": "from pkg import X"},
     [["pkg", "pkg.a"]]),
    ({"pkg/sub/__init__.py": "from pkg.sub.a import A", "pkg/sub/a.py": "A = 1",
      "pkg/b.py": "from pkg.sub import A", "pkg/__init__.py": ""}, []),
])
def test_cycle_check_finds_cycles_and_only_cycles(
        tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    """The checker itself must be able to fail: through three modules, an import inside a
    function, a TYPE_CHECKING import, a package re-exporting a name its module needs; and
    must not fail on a package re-exporting its modules (gridcore's __init__)."""
    _write_tree(tmp_path, files)
    assert import_cycles(import_graph(tmp_path, ("pkg",))) == expected
