"""CPU time and memory (resident, proportional) of processes, read from /proc (Linux)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # units of utime/stime in /proc/<pid>/stat
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds used so far by process ``pid`` (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of process ``pid`` in bytes (0 once it is gone)."""
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
    return int(resident) * PAGE_SIZE


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
