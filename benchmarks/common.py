"""Timing (as nvr.bench.model.Stat) and table printing shared by the benchmarks.

Every benchmark reports medians over repeated runs (machines are noisy), with min and max,
and puts our figure next to a reference figure measured in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nvr.bench.model import Stat

SHARED = Path(os.environ.get("NVR_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def shared_file(relative: str) -> Path:
    """A file from ../shared (or $NVR_SHARED); benchmarks stop with a clear message without it."""
    path = SHARED / relative
    if not path.exists():
        raise SystemExit(f"{path} is missing: benchmarks read real data from ../shared")
    return path


def measure(call: Callable[[], object], repeat: int = 7, number: int = 0,
            budget: float = 0.2) -> Stat:
    """Time ``call``: ``repeat`` runs of ``number`` calls each (auto-sized to ``budget`` s)."""
    call()  # warm caches and lazy initialisation
    if number <= 0:
        number, start = 1, time.perf_counter()
        call()
        once = max(time.perf_counter() - start, 1e-7)
        number = max(1, int(budget / once))
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        runs.append((time.perf_counter() - start) / number)
    return Stat.of(runs)


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table: our timing against the reference's."""

    name: str
    ours: Stat
    reference: Stat
    reference_name: str

    @property
    def ratio(self) -> float:
        """How many times faster we are (reference / ours)."""
        return self.reference.median / self.ours.median


def _ms(timing: Stat) -> str:
    return f"{timing.median * 1e3:8.3f} ({timing.low * 1e3:.3f}-{timing.high * 1e3:.3f})"


def print_table(title: str, rows: list[Row]) -> None:
    """A table of medians in ms (min-max), the reference figure and the ratio."""
    print(f"\n{title}")
    header = (f"{'case':34} {'ours ms (min-max)':>26} {'reference ms (min-max)':>26}"
              "  ratio  reference")
    print(header)
    print("-" * len(header))
    for row in rows:
        noisy = " (noisy)" if row.ours.noisy or row.reference.noisy else ""
        print(f"{row.name:34} {_ms(row.ours):>26} {_ms(row.reference):>26} "
              f"{row.ratio:5.2f}x  {row.reference_name}{noisy}")
