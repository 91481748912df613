"""Timing in rounds: ours and the baseline take turns, so load from elsewhere hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from nvr.bench.model import Stat

Work = Callable[[], int]
"""One batch of work; returns how many units (frames, calls, inferences) it did."""


def per_unit(works: Sequence[Work], rounds: int, budget: float) -> list[list[float]]:
    """Seconds per unit of each work, one sample per round for each, taken in turn.

    Each work runs once to warm up and once to size its samples to about ``budget`` s.
    """
    numbers = []
    for work in works:
        work()
        start = time.perf_counter()
        work()
        numbers.append(max(1, round(budget / max(time.perf_counter() - start, 1e-7))))
    samples: list[list[float]] = [[] for _ in works]
    for _ in range(rounds):
        for work, number, taken in zip(works, numbers, samples, strict=True):
            units = 0
            start = time.perf_counter()
            for _ in range(number):
                units += work()
            taken.append((time.perf_counter() - start) / max(units, 1))
    return samples


def milliseconds(seconds: Sequence[float]) -> Stat:
    """The stat of per-unit samples in ms."""
    return Stat.of([value * 1e3 for value in seconds])


def rate(seconds: Sequence[float]) -> Stat:
    """The stat of per-unit samples as units per second."""
    return Stat.of([1 / value for value in seconds])
