"""Run the benchmarks: every ``bench/bench_*.py`` module's ``main()``, or those named.

Each benchmark prints its figures beside a baseline measured in the same run, as a ratio, so
the numbers mean something on any machine. ``python -m bench --list`` names them;
``python -m bench store marc`` runs two. Set ``BENCH_SCALE`` (default 1.0) to scale sizes
down for a quick look.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmark modules, without the ``bench_`` prefix."""
    here = Path(__file__).parent
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules([str(here)])
        if info.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    failed = 0
    for name in args.names or names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        try:
            module.main()
        except Exception as exc:  # report and go on with the next benchmark
            failed += 1
            print(f"{name} failed: {exc!r}")
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
