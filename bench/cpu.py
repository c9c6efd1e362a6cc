"""CPU seconds (user + system) that processes have spent, read from /proc/<pid>/stat."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, all its threads (not children it has not reaped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Field 2, the command name, is in parentheses and may hold spaces: count after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def snapshot(pids: Iterable[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}
