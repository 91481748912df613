"""MJPEG viewers of a camera, and what they cost the service in CPU time.

The viewers read the stream from the process that calls ``cost_with_viewers``; the CPU time
read is that of the service's process (from /proc). When the service runs in this very
process (``nvr bench``), ``child_costs`` runs the viewers in a child process instead, so
that their own work is not counted as the service's.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

import httpx
import trio

from nvr.bench.procfs import cpu_seconds

CONNECT_SECONDS = 1.0  # viewers connect before the measurement starts


async def view(url: str, stop: trio.Event, received: list[int]) -> None:
    """Read the MJPEG stream at ``url`` until ``stop``, adding the bytes to ``received[0]``."""
    async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
        async for chunk in response.aiter_bytes():
            received[0] += len(chunk)
            if stop.is_set():
                return


async def cost_with_viewers(pid: int, url: str, viewers: int,
                            seconds: float) -> tuple[float, int]:
    """CPU seconds per second of process ``pid`` while ``viewers`` read the stream at ``url``
    for ``seconds``; and the bytes they received."""
    stop, received = trio.Event(), [0]
    async with trio.open_nursery() as nursery:
        for _ in range(viewers):
            nursery.start_soon(view, url, stop, received)
        await trio.sleep(CONNECT_SECONDS)  # let every viewer connect
        cpu, wall = cpu_seconds(pid), time.monotonic()
        await trio.sleep(seconds)
        cost = (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)
        stop.set()
        nursery.cancel_scope.cancel()
    return cost, received[0]


async def child_costs(url: str, viewers: Sequence[int], seconds: float,
                      repeat: int) -> dict[int, list[tuple[float, int]]]:
    """For each count of ``viewers``, ``repeat`` runs of ``cost_with_viewers`` of this
    process, the viewers in one child process."""
    child = await trio.run_process(
        [sys.executable, "-m", "nvr.bench.mjpeg", str(os.getpid()), url, str(seconds),
         str(repeat), *map(str, viewers)], capture_stdout=True)
    runs = json.loads(child.stdout)
    return {count: [(cost, size) for cost, size in runs[str(count)]] for count in viewers}


async def _child(pid: int, url: str, seconds: float, repeat: int,
                 viewers: list[int]) -> None:
    runs = {count: [await cost_with_viewers(pid, url, count, seconds) for _ in range(repeat)]
            for count in viewers}
    json.dump(runs, sys.stdout)


if __name__ == "__main__":
    # python -m nvr.bench.mjpeg PID URL SECONDS REPEAT VIEWERS...: print the runs as JSON.
    pid, url, seconds, repeat, *counts = sys.argv[1:]
    trio.run(_child, int(pid), url, float(seconds), int(repeat), [int(n) for n in counts])
