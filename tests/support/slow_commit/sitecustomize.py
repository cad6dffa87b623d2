"""Slows every SQLAlchemy session commit of a child process, so a test can kill it mid-write.

Put this folder first on the child's PYTHONPATH; Python imports `sitecustomize` at start-up.
With IDEAFORGE_TEST_COMMIT_DELAY=SECONDS each `Session.commit()` flushes (the transaction's
writes reach the database, uncommitted), appends `flushed N` to IDEAFORGE_TEST_COMMIT_MARKS,
sleeps, commits, then appends `committed N`. A SIGKILL during the sleep dies mid-transaction.
Test support only: nothing in src/ knows about it.
"""

from __future__ import annotations

import os
import time

_DELAY = float(os.environ.get("IDEAFORGE_TEST_COMMIT_DELAY") or 0)
_MARKS = os.environ.get("IDEAFORGE_TEST_COMMIT_MARKS")

if _DELAY > 0:
    from sqlalchemy.orm import Session

    _real_commit = Session.commit
    _count = 0

    def _mark(what: str) -> None:
        if _MARKS:
            with open(_MARKS, "a") as marks:
                marks.write(what + "\n")
                marks.flush()

    def _slow_commit(self: Session) -> None:
        global _count
        _count += 1
        number = _count
        writes = bool(self.new or self.dirty or self.deleted)
        self.flush()
        _mark(f"flushed {number} {'write' if writes else 'read'}")
        time.sleep(_DELAY)
        _real_commit(self)
        _mark(f"committed {number}")

    Session.commit = _slow_commit  # type: ignore[method-assign]
