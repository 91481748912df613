"""The ffmpeg child process: its stdout pipe and its stderr tail."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from nvr.capture.ffmpeg_process import ffmpeg_child
from nvr.capture.pipe import PipeReader
from nvr.config.ffmpeg import ffmpeg_executable


def test_closing_a_pipe_under_a_blocked_reader_keeps_its_number_until_the_read_ends() -> None:
    read_fd, write_fd = os.pipe()
    pipe = PipeReader(read_fd)
    results: list[int] = []
    reader = threading.Thread(target=lambda: results.append(pipe.readinto(memoryview(
        bytearray(16)))))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive()  # blocked in read()

    pipe.close()
    # The number now names /dev/null: nothing else can be opened under it meanwhile.
    assert stat.S_ISCHR(os.fstat(read_fd).st_mode)
    os.close(write_fd)  # the writer goes away (ffmpeg is stopped): the read returns
    reader.join(5)

    assert results == [0]
    assert pipe.readinto(memoryview(bytearray(4))) == 0
    with pytest.raises(OSError):  # released once the reader left
        os.fstat(read_fd)


async def test_stderr_tail_keeps_progress_lines_and_the_last_unterminated_line() -> None:
    argv = [ffmpeg_executable(), "-hide_banner", "-loglevel", "info", "-stats",
            "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-t", "2", "-f", "null", "-"]
    async with ffmpeg_child(argv, logging.getLogger("test"), grace=0) as child:
        reason = await child.wait_for_exit(timeout=30)

    assert reason == "exit code 0"
    tail = list(child.stderr_tail)
    # ffmpeg ends progress lines with a carriage return only; each one is a line here.
    assert sum("frame=" in line for line in tail) >= 1
    assert any("Output #0" in line for line in tail)
