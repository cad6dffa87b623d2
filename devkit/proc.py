"""What `/proc` says of a process: its file descriptors and resident memory (Linux)."""

from __future__ import annotations

import os


def fd_targets(pid: int | str = "self") -> dict[int, str]:
    """Each file descriptor open in process `pid`, and what it points to."""
    folder = f"/proc/{pid}/fd"
    found: dict[int, str] = {}
    for entry in os.listdir(folder):
        try:
            found[int(entry)] = os.readlink(f"{folder}/{entry}")
        except OSError:  # closed while we looked (the listing's own fd, say)
            continue
    return found


def open_fds(pid: int | str = "self") -> tuple[int, int]:
    """(file descriptors, of which sockets) open in process `pid`."""
    targets = fd_targets(pid).values()
    return len(targets), sum(target.startswith("socket:") for target in targets)


def rss_kib(pid: int | str = "self") -> int:
    """Resident memory of process `pid`, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
