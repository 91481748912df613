"""The read end of ffmpeg's stdout pipe, read in worker threads and closed safely.

A thread blocked in ``read()`` cannot be interrupted, and closing its descriptor under it
would let the number be reused: a retried read (after a signal) could then take another
camera's bytes. So ``close()`` first points the descriptor at /dev/null (later reads see EOF
at once) and the number is released only when no thread is inside a read any more.
"""

from __future__ import annotations

import os
import threading


class PipeReader:
    """Blocking reads of one pipe descriptor, for one reader thread at a time."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._reading = False
        self._closing = False

    def _begin(self) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._reading = True
            return True

    def _end(self) -> None:
        with self._lock:
            self._reading = False
            if self._closing:
                os.close(self._fd)

    def readinto(self, view: memoryview) -> int:
        """Read up to ``len(view)`` bytes into ``view``; 0 at end of file or once closed."""
        if not self._begin():
            return 0
        try:
            return os.readv(self._fd, [view])
        finally:
            self._end()

    def close(self) -> None:
        """Stop reading: the writer gets EPIPE, a blocked reader EOF when the writer goes."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, self._fd)
            os.close(devnull)
            if not self._reading:
                os.close(self._fd)
