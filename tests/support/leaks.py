"""What a piece of work left behind in this process: file descriptors, sockets, asyncio tasks.

Take a `Resources.now()` before, do the work, release what it should release, then
`await settled(before)`: it waits (boundedly) for closes that take a loop turn or two, and
returns what is still over the baseline.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

from devkit.proc import fd_targets, open_fds, rss_kib

__all__ = ["Resources", "fd_targets", "open_fds", "rss_kib", "settled", "settled_sync"]


def other_tasks() -> int:
    """asyncio tasks of the running loop, besides the caller's."""
    current = asyncio.current_task()
    return sum(1 for task in asyncio.all_tasks() if task is not current and not task.done())


@dataclass(frozen=True, slots=True)
class Resources:
    fds: int
    sockets: int
    tasks: int
    targets: frozenset[tuple[int, str]] = frozenset()
    """The open descriptors themselves, so that a leak can say what leaked."""

    @classmethod
    def now(cls, *, tasks: bool = True, collect: bool = False) -> Resources:
        if collect:  # a full collection costs ~0.1 s in a big test process: only when in doubt
            gc.collect()
        targets = fd_targets()
        sockets = sum(target.startswith("socket:") for target in targets.values())
        return cls(len(targets), sockets, other_tasks() if tasks else 0, frozenset(targets.items()))

    def minus(self, baseline: Resources) -> Resources:
        return Resources(
            self.fds - baseline.fds,
            self.sockets - baseline.sockets,
            self.tasks - baseline.tasks,
            self.targets - baseline.targets,
        )

    @property
    def clean(self) -> bool:
        return self.fds <= 0 and self.sockets <= 0 and self.tasks <= 0

    def describe(self) -> str:
        new = ", ".join(sorted({target.split(":[")[0] for _, target in self.targets}))
        return f"fds {self.fds:+d}, sockets {self.sockets:+d}, tasks {self.tasks:+d}" + (f" ({new})" if new else "")


async def settled(
    baseline: Resources, *, timeout: float = 3.0, tasks: bool = True, also: Callable[[], bool] = lambda: True
) -> Resources:
    """What is over `baseline` once it stops shrinking, waiting at most `timeout` seconds
    (and until `also()` holds: a server seeing its connections closed, say)."""
    deadline = time.monotonic() + timeout
    while True:
        late = time.monotonic() > deadline
        excess = Resources.now(tasks=tasks, collect=late).minus(baseline)
        if (excess.clean and also()) or late:
            return excess
        await asyncio.sleep(0.02)


def settled_sync(baseline: Resources, *, timeout: float = 3.0, also: Callable[[], bool] = lambda: True) -> Resources:
    """`settled` for code outside an event loop (tasks are not counted)."""
    deadline = time.monotonic() + timeout
    while True:
        late = time.monotonic() > deadline
        excess = Resources.now(tasks=False, collect=late).minus(baseline)
        if (excess.clean and also()) or late:
            return excess
        time.sleep(0.02)
