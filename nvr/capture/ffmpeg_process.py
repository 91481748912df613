"""Start and stop an ffmpeg child; keep the tail of what it writes to stderr."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nvr.capture.pipe import PipeReader

STDERR_LINES = 100
MAX_STDERR_LINE = 4096
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass
class FfmpegChild:
    """A running ffmpeg: the trio process, its stdout pipe (read in threads), its stderr tail."""

    process: trio.Process
    stdout: PipeReader
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    stderr_closed: trio.Event = field(default_factory=trio.Event)

    async def wait_for_exit(self, timeout: float) -> str:
        """Give ffmpeg ``timeout`` s to exit and finish its stderr; describe how it ended."""
        with trio.move_on_after(timeout):
            await self.process.wait()
            await self.stderr_closed.wait()
        code = self.process.returncode
        return "still running" if code is None else f"exit code {code}"


def _enlarge_pipe(fd: int, wanted: int) -> None:
    """Ask for a pipe buffer of about one frame, so ffmpeg rarely blocks mid-frame."""
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(fd, F_SETPIPE_SZ, min(wanted, limit))
    except (OSError, ValueError):
        pass


def _keep_line(child: FfmpegChild, log: logging.Logger, line: bytes) -> None:
    text = line.decode(errors="replace").strip()
    if text:
        child.stderr_tail.append(text)
        log.debug("%s", text)


async def _collect_stderr(child: FfmpegChild, log: logging.Logger) -> None:
    pending = b""
    assert child.process.stderr is not None
    try:
        async for chunk in child.process.stderr:
            # Progress lines (-stats at -loglevel info) end in a carriage return only.
            lines = (pending + chunk).replace(b"\r", b"\n").split(b"\n")
            pending = lines.pop()[-MAX_STDERR_LINE:]
            for line in lines:
                _keep_line(child, log, line)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    _keep_line(child, log, pending)
    child.stderr_closed.set()


async def _stop(process: trio.Process, grace: float) -> None:
    if process.returncode is not None:
        return
    if grace > 0:
        process.terminate()
        with trio.move_on_after(grace):
            await process.wait()
            return
    process.kill()
    await process.wait()


@asynccontextmanager
async def ffmpeg_child(argv: Sequence[str], log: logging.Logger, *, grace: float,
                       pipe_size: int = 1 << 20) -> AsyncIterator[FfmpegChild]:
    """Run ffmpeg with stdout on a pipe we read ourselves.

    On exit it gets SIGTERM and ``grace`` seconds to finish the files it writes, then
    SIGKILL; with ``grace`` 0 (nothing but the pipe to lose) it is killed at once.
    """
    read_fd, write_fd = os.pipe()
    _enlarge_pipe(write_fd, pipe_size)
    try:
        process = await trio.lowlevel.open_process(
            list(argv), stdin=subprocess.DEVNULL, stdout=write_fd, stderr=subprocess.PIPE,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    child = FfmpegChild(process, PipeReader(read_fd))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_collect_stderr, child, log)
        try:
            yield child
        finally:
            # Closed first: an ffmpeg blocked writing to a pipe nobody reads would ignore
            # SIGTERM; with the pipe gone it gets EPIPE and exits at once.
            child.stdout.close()
            with trio.CancelScope(shield=True):
                await _stop(process, grace)
                if process.stderr is not None:
                    await process.stderr.aclose()
            nursery.cancel_scope.cancel()
