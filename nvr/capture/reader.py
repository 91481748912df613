"""Read I420 frames from ffmpeg's stdout into pool buffers, in YUV4MPEG or raw form."""

from __future__ import annotations

import re
import time

import trio

from nvr.capture.pipe import PipeReader
from nvr.capture.pool import Frame, FramePool

Y4M_SIGNATURE = b"YUV4MPEG2 "
Y4M_FRAME = b"FRAME\n"
MAX_HEADER = 1024


class CaptureFault(Exception):
    """The camera's ffmpeg must be restarted; the message says why."""


class StreamEnded(CaptureFault):
    """ffmpeg closed its output: it exited or is about to."""


class Stalled(CaptureFault):
    """No data for longer than the stall timeout (the read was abandoned)."""


def _read_into(stream: PipeReader, view: memoryview) -> int:
    filled = 0
    while filled < len(view):
        try:
            count = stream.readinto(view[filled:])
        except OSError as error:
            raise StreamEnded(f"reading from ffmpeg failed: {error}") from None
        if not count:
            break
        filled += count
    return filled


def read_header(stream: PipeReader) -> bytes:
    """The YUV4MPEG stream header line (without the newline)."""
    line, byte = bytearray(), memoryview(bytearray(1))
    while len(line) < MAX_HEADER:
        if not _read_into(stream, byte):
            raise StreamEnded("ffmpeg exited before sending a frame")
        if byte[0] == ord("\n"):
            return bytes(line)
        line += byte
    raise CaptureFault("ffmpeg sent no YUV4MPEG header")


def header_size(header: bytes) -> tuple[int, int]:
    """Frame width and height from a YUV4MPEG header (``XCOLORRANGE=FULL`` is read apart)."""
    if not header.startswith(Y4M_SIGNATURE):
        raise CaptureFault(f"ffmpeg sent {header[:40]!r} instead of a YUV4MPEG header")
    width = re.search(rb" W(\d+)", header)
    height = re.search(rb" H(\d+)", header)
    if not (width and height):
        raise CaptureFault(f"YUV4MPEG header without a size: {header!r}")
    return int(width.group(1)), int(height.group(1))


def read_frame(stream: PipeReader, marker: memoryview | None, frame: memoryview) -> float:
    """Fill ``frame`` (after a ``FRAME`` marker for YUV4MPEG); returns the time the read began."""
    started = time.time()
    if marker is not None:
        got = _read_into(stream, marker)
        if got == 0:
            raise StreamEnded("ffmpeg stopped sending frames")
        if bytes(marker[:got]) != Y4M_FRAME:
            raise CaptureFault(f"ffmpeg sent a broken frame marker {bytes(marker[:got])!r}")
    got = _read_into(stream, frame)
    if got == 0 and marker is None:
        raise StreamEnded("ffmpeg stopped sending frames")
    if got < len(frame):
        raise StreamEnded(f"ffmpeg sent a short frame ({got} of {len(frame)} bytes)")
    return started


class FrameReader:
    """Reads one camera's frames; ``y4m`` when the detect output is ``-f yuv4mpegpipe``."""

    def __init__(self, stream: PipeReader, pool: FramePool, *, y4m: bool,
                 stall_timeout: float) -> None:
        self._stream = stream
        self._pool = pool
        self._y4m = y4m
        self._stall = stall_timeout
        self._marker = memoryview(bytearray(len(Y4M_FRAME))) if y4m else None
        # Limited (TV) range unless the stream says otherwise, as cameras almost always are.
        self.full_range = False
        # One reader thread per camera, outside Trio's shared thread limit.
        self._limiter = trio.CapacityLimiter(1)

    async def _in_thread(self, function, *args):
        with trio.move_on_after(self._stall):
            return await trio.to_thread.run_sync(
                function, *args, abandon_on_cancel=True, limiter=self._limiter
            )
        raise Stalled(f"no frame received in {self._stall:g} s")

    async def read_stream_header(self) -> None:
        """For YUV4MPEG: fail at once when ffmpeg's frame size is not the configured one, and
        note the colour range."""
        if not self._y4m:
            return
        header = await self._in_thread(read_header, self._stream)
        self.full_range = b" XCOLORRANGE=FULL" in header
        width, height = header_size(header)
        if (width, height) != (self._pool.width, self._pool.height):
            raise CaptureFault(
                f"ffmpeg delivers {width}x{height} frames but width and height are "
                f"{self._pool.width}x{self._pool.height} in the config"
            )

    async def next_frame(self) -> Frame:
        """The next frame, owned by the caller (one reference)."""
        frame = self._pool.take()
        try:
            frame.time = await self._in_thread(
                read_frame, self._stream, self._marker, frame.buffer.data
            )
            frame.full_range = self.full_range
        except Stalled:
            # The abandoned thread may still write into this buffer: drop it, never reuse it.
            raise
        except CaptureFault:
            frame.release()
            raise
        return frame
