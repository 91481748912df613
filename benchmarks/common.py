"""Timing and table printing shared by the benchmarks: ``nvr bench``'s harness and figures.

Every benchmark reports medians over repeated rounds (machines are noisy), with min and max,
and puts our figure next to a baseline timed in turns with it, in the same run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nvr.bench.model import Stat
from nvr.bench.timing import Work, per_unit

SHARED = Path(os.environ.get("NVR_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def shared_file(relative: str) -> Path:
    """A file from ../shared (or $NVR_SHARED); benchmarks stop with a clear message without it."""
    path = SHARED / relative
    if not path.exists():
        raise SystemExit(f"{path} is missing: benchmarks read real data from ../shared")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (for a service or broker the benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(*calls: Callable[[], object], rounds: int = 7, budget: float = 0.2) -> list[Stat]:
    """Seconds per call of each of ``calls``, timed in turns (``nvr bench``'s harness).

    Each round times every call in turn, sized to about ``budget`` s, so that load from
    elsewhere on the machine hits ours and the baseline alike.
    """

    def once(call: Callable[[], object]) -> Work:
        def work() -> int:
            call()
            return 1
        return work

    return [Stat.of(samples)
            for samples in per_unit([once(call) for call in calls], rounds, budget)]


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table: our timing against the baseline's."""

    name: str
    ours: Stat
    baseline: Stat
    baseline_name: str

    @property
    def ratio(self) -> float:
        """How many times faster we are (baseline / ours)."""
        return self.baseline.median / self.ours.median


def _ms(timing: Stat) -> str:
    return f"{timing.median * 1e3:8.3f} ({timing.low * 1e3:.3f}-{timing.high * 1e3:.3f})"


def print_table(title: str, rows: list[Row]) -> None:
    """A table of medians in ms (min-max), the baseline figure and the ratio."""
    print(f"\n{title}")
    header = (f"{'case':34} {'ours ms (min-max)':>26} {'baseline ms (min-max)':>26}"
              "  ratio  baseline")
    print(header)
    print("-" * len(header))
    for row in rows:
        noisy = " (noisy)" if row.ours.noisy or row.baseline.noisy else ""
        print(f"{row.name:34} {_ms(row.ours):>26} {_ms(row.baseline):>26} "
              f"{row.ratio:5.2f}x  {row.baseline_name}{noisy}")
