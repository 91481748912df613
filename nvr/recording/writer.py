"""Keep a camera's segment-writing ffmpeg running (``clips``/``record`` roles, no detect pipe).

The process is restarted with back-off whenever it exits, and killed and restarted when it
stalls: no new segment file for ``stall_timeout`` seconds. (ffmpeg's mp4 muxer holds a
segment in memory until it closes it, so a healthy writer shows progress as new files,
not as a growing one.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn

import trio

from nvr.capture.ffmpeg_process import ffmpeg_child
from nvr.capture.supervisor import FILE_OUTPUT_GRACE, CaptureEnded, restart_ffmpeg_forever
from nvr.config.ffmpeg import SEGMENT_NAME, FfmpegCommand
from nvr.recording.segments import parse_segment_name

DEFAULT_SEGMENT_TIME = 60.0
MAX_POLL = 1.0
# The writer's stdout is not used: ask for no more than the smallest pipe buffer.
STDOUT_PIPE_SIZE = 4096


def default_stall_timeout(command: FfmpegCommand) -> float:
    """Three times the command's longest ``-segment_time`` (60 s if none) plus 20 s."""
    return 3 * (command.segment_time or DEFAULT_SEGMENT_TIME) + 20


def _newest_files(outputs: Sequence[Path]) -> tuple[str | None, ...]:
    """For each output pattern, the name of its newest segment file (None if none)."""
    newest = []
    for pattern in outputs:
        camera = pattern.name[:-len(f"-{SEGMENT_NAME}")]
        names = []
        try:
            with os.scandir(pattern.parent) as entries:
                for entry in entries:
                    parsed = parse_segment_name(entry.name)
                    if parsed is not None and parsed[0] == camera:
                        names.append(entry.name)
        except OSError:
            pass
        newest.append(max(names, default=None))
    return tuple(newest)


async def write_once(command: FfmpegCommand, stall_timeout: float,
                     on_pid: Callable[[int], None], ffmpeg_log: logging.Logger) -> CaptureEnded:
    """Run the writer until it exits or writes no new segment for ``stall_timeout`` s.

    It is then stopped with SIGTERM and a grace period, so it can close its open segment.
    """
    outputs = command.segment_outputs
    for output in outputs:  # a cache on /tmp may have been cleaned away
        await trio.to_thread.run_sync(partial(output.parent.mkdir, parents=True, exist_ok=True))
    poll = min(MAX_POLL, stall_timeout / 4)
    progress_at = None
    async with ffmpeg_child(command.argv, ffmpeg_log, grace=FILE_OUTPUT_GRACE,
                            pipe_size=STDOUT_PIPE_SIZE) as child:
        on_pid(child.process.pid)
        seen = await trio.to_thread.run_sync(_newest_files, outputs)
        changed_at = trio.current_time()
        while True:
            with trio.move_on_after(poll):
                await child.process.wait()
            if child.process.returncode is not None:
                reason = f"ffmpeg exited ({await child.wait_for_exit(timeout=2)})"
                break
            now_seen = await trio.to_thread.run_sync(_newest_files, outputs)
            now = trio.current_time()
            if now_seen != seen:
                seen, changed_at = now_seen, now
                progress_at = progress_at or now
            elif now - changed_at >= stall_timeout:
                reason = f"ffmpeg wrote no new segment for {stall_timeout:g} s"
                break
        # Taken before ffmpeg is stopped, whose complaints about that would only confuse.
        stderr_tail = list(child.stderr_tail)
    healthy_for = trio.current_time() - progress_at if progress_at is not None else 0.0
    return CaptureEnded(reason, healthy_for, stderr_tail)


def _ignore_pid(pid: int) -> None:
    pass


async def supervise_writer(camera: str, command: FfmpegCommand, on_stop: Callable[[], None], *,
                           stall_timeout: float | None = None,
                           on_pid: Callable[[int], None] = _ignore_pid) -> NoReturn:
    """Write segments forever: every exit or stall is logged (with ffmpeg's last stderr
    lines) and ffmpeg restarted after a back-off delay (1 s doubling to 60 s, reset after a
    healthy minute).

    ``on_stop`` is called after each run, once ffmpeg is gone (its newest file is then
    closed); ``on_pid`` gets each new process id, and 0 when it is gone. ``stall_timeout``
    defaults to :func:`default_stall_timeout`.
    """
    if not command.segment_outputs or "detect" in command.roles:
        raise ValueError(f"{camera}: not a segment writer: {command.line}")
    timeout = default_stall_timeout(command) if stall_timeout is None else stall_timeout
    log = logging.getLogger(f"nvr.recording.{camera}")
    ffmpeg_log = logging.getLogger(f"ffmpeg.{camera}.{'_'.join(sorted(command.roles))}")

    def after_run() -> None:
        on_pid(0)
        on_stop()

    await restart_ffmpeg_forever(
        camera, partial(write_once, command, timeout, on_pid, ffmpeg_log), log, after_run)
