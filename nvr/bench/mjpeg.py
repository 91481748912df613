"""MJPEG viewers of a stream, and what they cost the serving process in CPU time.

The viewers read from a child process (``python -m nvr.bench.mjpeg``) so that their own
work is not counted as the server's; the CPU time read is the server process's (from /proc).
The targets (a URL and a number of viewers; 0 viewers: the process's cost with none) take
turns, round after round, so that load from elsewhere on the machine hits them alike.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import trio

from nvr.bench.procfs import cpu_seconds

CONNECT_SECONDS = 1.0  # viewers connect before the measurement starts
BOUNDARY = b"--frame\r\n"


@dataclass(frozen=True)
class Viewing:
    """One measurement: the server's CPU seconds per second, and the parts its viewers got
    per second."""

    cpu: float
    parts: float


async def view(url: str, counting: trio.Event, stop: trio.Event, parts: list[int]) -> None:
    """Read the MJPEG stream at ``url`` until ``stop``; count its parts into ``parts[0]``
    once ``counting`` is set."""
    tail = b""
    async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
        async for chunk in response.aiter_bytes():
            if counting.is_set():
                parts[0] += (tail + chunk).count(BOUNDARY)
            tail = chunk[-len(BOUNDARY) + 1:]
            if stop.is_set():
                return


async def viewing(pid: int, url: str, viewers: int, seconds: float) -> Viewing:
    """Process ``pid``'s CPU while ``viewers`` read the stream at ``url`` for ``seconds``."""
    counting, stop, parts = trio.Event(), trio.Event(), [0]
    async with trio.open_nursery() as nursery:
        for _ in range(viewers):
            nursery.start_soon(view, url, counting, stop, parts)
        await trio.sleep(CONNECT_SECONDS)  # let every viewer connect
        cpu, wall = cpu_seconds(pid), time.monotonic()
        counting.set()
        await trio.sleep(seconds)
        elapsed = time.monotonic() - wall
        result = Viewing((cpu_seconds(pid) - cpu) / elapsed, parts[0] / elapsed)
        stop.set()
        nursery.cancel_scope.cancel()
    return result


async def child_viewings(targets: Sequence[tuple[str, int]], seconds: float,
                         rounds: int) -> list[list[Viewing]]:
    """For each (url, viewers) of ``targets``, its ``viewing`` of this process in each of
    ``rounds`` rounds (the targets in turn), the viewers in a child process."""
    child = await trio.run_process(
        [sys.executable, "-m", "nvr.bench.mjpeg", str(os.getpid()), str(seconds), str(rounds),
         json.dumps(list(targets))], capture_stdout=True)
    return [[Viewing(*values) for values in runs] for runs in json.loads(child.stdout)]


async def _child(pid: int, seconds: float, rounds: int,
                 targets: list[tuple[str, int]]) -> None:
    runs: list[list[tuple[float, float]]] = [[] for _ in targets]
    for _ in range(rounds):
        for index, (url, viewers) in enumerate(targets):
            result = await viewing(pid, url, viewers, seconds)
            runs[index].append((result.cpu, result.parts))
    json.dump(runs, sys.stdout)


if __name__ == "__main__":
    # python -m nvr.bench.mjpeg PID SECONDS ROUNDS TARGETS_JSON: print the runs as JSON.
    pid, seconds, rounds, targets = sys.argv[1:]
    trio.run(_child, int(pid), float(seconds), int(rounds),
             [(url, int(viewers)) for url, viewers in json.loads(targets)])
