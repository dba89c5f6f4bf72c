"""The resident memory and CPU time of a process and everything under it (Spark's JVM
and Python workers, DVC's child stages, joblib's worker processes): the one sampler the
benchmarks share."""

from __future__ import annotations

import os

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc; 0 for a finished one)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            with open(f"/proc/{entry}/statm", encoding="ascii") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root``, its live descendants and the children it
    has reaped (from /proc; 0 for a finished one).

    joblib's workers live on between calls and are never reaped, so ``time.process_time``
    and ``RUSAGE_CHILDREN`` miss their work; the difference of two readings of this around
    a call counts it. A descendant that ends between the readings without being reaped by
    one of the tree is missed.
    """
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # After the name: state, ppid, ... utime (field 14 of stat), stime, cutime, cstime.
        try:
            ppid = int(fields[1])
            ticks = sum(int(f) for f in fields[11:15])
        except (ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        cpu[int(entry)] = ticks / TICK
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total
