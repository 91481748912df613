"""Keep a camera's detect ffmpeg running: restart it with back-off after any fault."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import NoReturn

import trio

from nvr.capture.ffmpeg_process import ffmpeg_child
from nvr.capture.pool import Frame, FramePool
from nvr.capture.reader import CaptureFault, FrameReader, StreamEnded
from nvr.config.ffmpeg import FfmpegCommand
from nvr.tasks import Backoff

FILE_OUTPUT_GRACE = 5.0


@dataclass(frozen=True)
class CaptureEnded:
    """Why an ffmpeg run ended, how long it was healthy, what ffmpeg last said."""

    reason: str
    healthy_for: float
    stderr_tail: list[str]


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
    run_once = partial(capture_once, command, pool, stall_timeout, deliver, on_pid, ffmpeg_log)
    await restart_ffmpeg_forever(camera, run_once, log, partial(on_pid, 0))
