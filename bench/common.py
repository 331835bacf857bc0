"""Helpers shared by the benchmarks: timing, peak memory, scaled sizes, reporting."""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def scaled(n: int) -> int:
    """``n`` times ``BENCH_SCALE`` (default 1), at least 1."""
    return max(1, int(n * float(os.environ.get("BENCH_SCALE", "1"))))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` once; returns its result and the seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``values`` (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def report(
    label: str,
    figure: float,
    unit: str,
    baseline_label: str,
    baseline: float,
    *,
    higher_is_better: bool = True,
    target: float | None = None,
) -> None:
    """Print a figure beside its same-run baseline and their ratio (and the target, if any)."""
    ratio = figure / baseline if baseline else float("inf")
    verdict = ""
    if target is not None:
        met = ratio >= target if higher_is_better else ratio <= target
        verdict = (
            f"  target {'≥' if higher_is_better else '≤'} {target:g}: {'met' if met else 'MISSED'}"
        )
    print(
        f"{label}: {figure:,.1f} {unit} | {baseline_label}: {baseline:,.1f} {unit} | "
        f"ratio {ratio:.2f}{verdict}",
        flush=True,
    )


def isbn13(body: str) -> str:
    """``body`` (12 digits) with its ISBN-13 check digit: distinct, valid ISBNs never match."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, their children…), from ``/proc``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class HelperPeak:
    """Watches the processes below this one (reading workers and their fork server) while
    a phase runs, and keeps the largest peak RSS (``VmHWM``) any of them reached, in MB.

    Worker processes are not this process's own children (a fork server starts them), so
    ``getrusage`` does not see them; ``/proc`` does.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(interval,), daemon=True)

    def __enter__(self) -> HelperPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self, interval: float) -> None:
        me = os.getpid()
        while not self._stop.wait(interval):
            for pid in descendants(me):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
