"""Reusable I420 frame buffers, handed out and given back by reference counting."""

from __future__ import annotations

import numpy as np

from nvr.frames import new_frame


class Frame:
    """One I420 frame: its flat buffer, the wall-clock time its read started, a running index,
    and whether its planes use the full 0-255 range (most cameras send limited range).

    Holders call ``retain()`` / ``release()``; when the last holder releases it, the buffer
    goes back to its pool. Only the event loop touches the counts.
    """

    __slots__ = ("_pool", "_refs", "buffer", "full_range", "index", "time")

    def __init__(self, pool: FramePool, buffer: np.ndarray) -> None:
        self._pool = pool
        self._refs = 0
        self.buffer = buffer
        self.index = -1
        self.time = 0.0
        self.full_range = False

    def retain(self) -> Frame:
        self._refs += 1
        return self

    def release(self) -> None:
        self._refs -= 1
        if self._refs == 0:
            self._pool.give_back(self)


class FramePool:
    """Buffers for one camera's frames; allocates only when every buffer is in use."""

    def __init__(self, width: int, height: int, size: int = 4) -> None:
        self.width, self.height = width, height
        self._free = [Frame(self, new_frame(width, height)) for _ in range(size)]
        self.allocated = size

    def take(self) -> Frame:
        """A free frame with one reference (the caller's)."""
        if self._free:
            frame = self._free.pop()
        else:
            frame = Frame(self, new_frame(self.width, self.height))
            self.allocated += 1
        return frame.retain()

    def give_back(self, frame: Frame) -> None:
        self._free.append(frame)
