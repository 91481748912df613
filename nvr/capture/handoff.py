"""The hand-off from a camera's capture to its processor: always the newest frame."""

from __future__ import annotations

import time
from collections.abc import Callable

import trio

from nvr.capture.pool import Frame
from nvr.rates import RateCounter


class FrameHandoff:
    """Holds the one frame waiting for the processor. Capture ``deliver``\\ s each frame it
    reads (counted in ``received``); if the processor has not taken the previous one yet,
    that one is dropped (counted in ``skipped``). ``take`` gives the newest, numbered in
    order across pipeline restarts (shared renders are keyed by that number). ``clock``
    times the counts."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.received, self.skipped = RateCounter(clock), RateCounter(clock)
        self._pending: Frame | None = None
        self._arrived = trio.Event()
        self._taken = 0

    def deliver(self, frame: Frame) -> None:
        """Take a newly read frame, dropping the one still waiting, if any."""
        self.received.add()
        dropped, self._pending = self._pending, frame
        if dropped is not None:
            dropped.release()
            self.skipped.add()
        self._arrived.set()

    async def take(self) -> Frame:
        """The newest frame, once there is one."""
        while self._pending is None:
            self._arrived = trio.Event()
            await self._arrived.wait()
        frame, self._pending = self._pending, None
        frame.index, self._taken = self._taken, self._taken + 1
        return frame
