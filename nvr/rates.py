"""Per-second rates over a sliding 10 s window, as Frigate 0.8's stats count
(docs/compatibility.md#stats)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW = 10.0


class RateCounter:
    """Counts events; ``rate()`` is events in the last 10 s over min(age, 10 s)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._events: deque[float] = deque()

    def add(self) -> None:
        """Count one event now."""
        now = self._clock()
        self._events.append(now)
        self._forget_before(now - WINDOW)

    def rate(self) -> float:
        """Events per second over the window, 2 decimals."""
        now = self._clock()
        self._forget_before(now - WINDOW)
        elapsed = min(now - self._started, WINDOW)
        return round(len(self._events) / elapsed, 2) if elapsed > 0 else 0.0

    def _forget_before(self, cutoff: float) -> None:
        while self._events and self._events[0] < cutoff:
            self._events.popleft()
