"""The resident memory and CPU time of a process and everything under it (Spark's JVM
and Python workers, DVC's child stages, joblib's worker processes): the one sampler the
benchmarks share."""

from __future__ import annotations

import os
from collections.abc import Callable

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def _tree_total(root: int, measure: Callable[[str, str], float]) -> float:
    """``measure(pid, stat)`` summed over ``root`` and all its live descendants (from /proc;
    a process that ends or cannot be read while the tree is walked counts 0)."""
    children: dict[int, list[int]] = {}
    value: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
            value[int(entry)] = measure(entry, stat)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += value.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def _rss(pid: str, _stat: str) -> float:
    with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
        return float(int(fh.read().split()[1]) * PAGE)


def _cpu(_pid: str, stat: str) -> float:
    # After the name: state, ppid, ... utime (field 14 of stat), stime, cutime, cstime.
    return sum(int(f) for f in stat[stat.rfind(")") + 2 :].split()[11:15]) / TICK


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc; 0 for a finished one)."""
    return int(_tree_total(root, _rss))


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root``, its live descendants and the children it
    has reaped (from /proc; 0 for a finished one).

    joblib's workers live on between calls and are never reaped, so ``time.process_time``
    and ``RUSAGE_CHILDREN`` miss their work; the difference of two readings of this around
    a call counts it. A descendant that ends between the readings without being reaped by
    one of the tree is missed.
    """
    return _tree_total(root, _cpu)
