"""`make bench`: run every ``benchmarks/bench_*.py`` and print one JSON object per line.

Each module exposes ``run() -> Iterable[dict]``; every dict has at least ``bench``,
``value`` and ``unit``, plus whatever context makes the number comparable (the baseline
measured in the same run, sizes, the machine). ``python -m benchmarks NAME...`` runs only
the modules whose name contains one of the given words.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import traceback

import benchmarks


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    context = {"python": platform.python_version(), "cpus": os.cpu_count()}
    failed = 0
    for module_info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        name = module_info.name
        if not name.startswith("bench_") or (wanted and not any(w in name for w in wanted)):
            continue
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            for row in module.run():
                print(json.dumps({**row, **{k: v for k, v in context.items() if k not in row}}),
                      flush=True)
        except Exception:  # one broken benchmark must not hide the others
            failed += 1
            print(f"benchmark {name} failed:", file=sys.stderr)
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
