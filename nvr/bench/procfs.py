"""CPU time and memory (resident, proportional) of processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds used so far by process ``pid`` (0 once it is gone).

    Read from the process's CPU-time clock, to the nanosecond (``/proc/<pid>/stat`` counts
    in 10 ms ticks, too coarse for a fraction of a millisecond per request or part)."""
    if pid == "self":
        return time.process_time()
    try:
        return time.clock_gettime(_process_cpu_clock(int(pid)))
    except OSError:  # no such process
        return 0.0


def _process_cpu_clock(pid: int) -> int:
    # Linux's clock id for the CPU time of the whole process pid (clock_getcpuclockid(3),
    # which Python does not wrap): the complement of the pid, shifted, with CPUCLOCK_SCHED.
    return (~pid << 3) | 2


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of process ``pid`` in bytes (0 once it is gone)."""
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
    return int(resident) * PAGE_SIZE


def anon_bytes(pid: int | str = "self") -> int:
    """Anonymous resident memory of process ``pid`` in bytes (``RssAnon``: its heap and
    buffers, not the files and libraries it maps; 0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0


def total_cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds of this process plus the processes ``pids`` (0 pids are skipped)."""
    return cpu_seconds() + sum(cpu_seconds(pid) for pid in pids if pid)


def total_rss_bytes(pids: Iterable[int]) -> int:
    """Resident bytes of this process plus the processes ``pids`` (0 pids are skipped)."""
    return rss_bytes() + sum(rss_bytes(pid) for pid in pids if pid)


def pss_bytes(pid: int | str = "self") -> int:
    """Proportional set size of process ``pid`` in bytes (0 once it is gone): its private
    pages plus its share of the pages it shares, so that the PSS of processes adds up (RSS
    counts a shared library in every process that maps it)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def total_pss_bytes(pids: Iterable[int]) -> int:
    """Proportional bytes of this process plus the processes ``pids`` (0 pids are skipped)."""
    return pss_bytes() + sum(pss_bytes(pid) for pid in pids if pid)
