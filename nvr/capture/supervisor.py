"""Keep a camera's detect ffmpeg running: restart it with back-off after any fault.

When that ffmpeg also writes segments (clips, record) and a write fails (a full, read-only or
failing disk), it is run with its detect pipe alone, so that detection goes on, until the
segment folders take writes again; then it is restarted with them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import NoReturn

import trio

from nvr.capture.ffmpeg_process import ffmpeg_child
from nvr.capture.pool import Frame, FramePool
from nvr.capture.reader import CaptureFault, FrameReader, StreamEnded
from nvr.config.ffmpeg import FfmpegCommand
from nvr.tasks import Backoff

FILE_OUTPUT_GRACE = 5.0
# What ffmpeg says when an output cannot be written (its strerror texts).
WRITE_FAILURES = ("No space left on device", "Input/output error", "Read-only file system",
                  "Permission denied", "Disk quota exceeded")
WRITABLE_CHECK_INTERVAL = 10.0  # s between tries of the segment folders while they fail
PROBE_BYTES = 256 * 1024


@dataclass(frozen=True)
class CaptureEnded:
    """Why an ffmpeg run ended, how long it was healthy, what ffmpeg last said."""

    reason: str
    healthy_for: float
    stderr_tail: list[str]
    planned: bool = False  # nvr stopped it on purpose (to change its outputs)


async def capture_once(command: FfmpegCommand, pool: FramePool, stall_timeout: float,
                       deliver: Callable[[Frame], None], on_pid: Callable[[int], None],
                       ffmpeg_log: logging.Logger) -> CaptureEnded:
    """Run ffmpeg and hand each frame to ``deliver`` until a fault ends the run."""
    first_frame_at = None
    # Segment files written by the same process need a clean stop; a pipe does not.
    grace = FILE_OUTPUT_GRACE if set(command.roles) - {"detect"} else 0.0
    async with ffmpeg_child(command.argv, ffmpeg_log, grace=grace) as child:
        on_pid(child.process.pid)
        reader = FrameReader(child.stdout, pool, y4m=command.y4m, stall_timeout=stall_timeout)
        try:
            await reader.read_stream_header()
            while True:
                frame = await reader.next_frame()
                first_frame_at = first_frame_at or trio.current_time()
                deliver(frame)
        except StreamEnded as fault:
            # ffmpeg's reason is in its last stderr lines: let it finish writing them.
            reason = f"{fault} ({await child.wait_for_exit(timeout=2)})"
        except CaptureFault as fault:
            reason = str(fault)
        # Taken before ffmpeg is stopped, whose complaints about that would only confuse.
        stderr_tail = list(child.stderr_tail)
    healthy_for = trio.current_time() - first_frame_at if first_frame_at else 0.0
    return CaptureEnded(reason, healthy_for, stderr_tail)


async def restart_ffmpeg_forever(camera: str, run_once: Callable[[], Awaitable[CaptureEnded]],
                          log: logging.Logger, after_run: Callable[[], None]) -> NoReturn:
    """Run ffmpeg through ``run_once`` forever: each end is logged (with ffmpeg's last stderr
    lines), ``after_run`` called, and the next run started after a back-off delay."""
    backoff = Backoff()
    while True:
        try:
            ended = await run_once()
        except OSError as error:
            ended = CaptureEnded(f"cannot start ffmpeg: {error}", 0.0, [])
        finally:
            after_run()
        if ended.planned:
            log.info("%s: %s", camera, ended.reason)
            continue
        said = "".join(f"\n  {line}" for line in ended.stderr_tail) or " (nothing)"
        log.error("%s: %s; ffmpeg said:%s", camera, ended.reason, said)
        delay = backoff.next_delay(ended.healthy_for)
        log.warning("%s: restarting ffmpeg in %g s", camera, delay)
        await trio.sleep(delay)


async def supervise_capture(camera: str, command: FfmpegCommand, pool: FramePool,
                            stall_timeout: float, deliver: Callable[[Frame], None],
                            on_pid: Callable[[int], None]) -> NoReturn:
    """Capture forever: every fault is logged (with ffmpeg's last stderr lines) and the
    process restarted after a back-off delay. Other cameras never notice."""
    log = logging.getLogger(f"nvr.capture.{camera}")
    ffmpeg_log = logging.getLogger(f"ffmpeg.{camera}.detect")
    capture = partial(capture_once, pool=pool, stall_timeout=stall_timeout, deliver=deliver,
                      on_pid=on_pid, ffmpeg_log=ffmpeg_log)
    detect_only = None
    if command.segment_outputs and command.detect_argv:
        detect_only = replace(command, roles=("detect",), argv=command.detect_argv,
                              segment_outputs=())
    folders = {pattern.parent for pattern in command.segment_outputs}
    writing = True

    async def run_once() -> CaptureEnded:
        nonlocal writing
        if writing or detect_only is None:
            ended = await capture(command)
            failure = _write_failure(ended.stderr_tail)
            if detect_only is not None and failure is not None:
                writing = False
                log.warning("%s: cannot write its segments (%s): detecting without them until "
                            "their folders take writes again", camera, failure)
            return ended
        with trio.CancelScope() as writable_again:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_once_writable, folders, writable_again)
                ended = await capture(detect_only)
                nursery.cancel_scope.cancel()
            return ended
        writing = True
        return CaptureEnded("the segment folders take writes again: writing segments again",
                            0.0, [], planned=True)

    await restart_ffmpeg_forever(camera, run_once, log, partial(on_pid, 0))


def _write_failure(stderr_tail: Iterable[str]) -> str | None:
    """The line where ffmpeg says it could not write an output, if it did."""
    return next((line.strip() for line in stderr_tail
                 if any(failure in line for failure in WRITE_FAILURES)), None)


async def _cancel_once_writable(folders: set[Path], scope: trio.CancelScope) -> None:
    while not await trio.to_thread.run_sync(_all_writable, folders):
        await trio.sleep(WRITABLE_CHECK_INTERVAL)
    scope.cancel()


def _all_writable(folders: Iterable[Path]) -> bool:
    """Whether a file of PROBE_BYTES can be written in each folder (blocking)."""
    for folder in folders:
        probe = folder / f".nvr-write-probe-{os.getpid()}"
        try:
            with open(probe, "wb") as file:
                file.write(bytes(PROBE_BYTES))
                file.flush()
                os.fsync(file.fileno())
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                probe.unlink(missing_ok=True)
    return True
