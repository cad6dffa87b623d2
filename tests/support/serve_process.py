"""`ideaforge serve` in a subprocess, waited on by what it says, not by the clock.

The server's stderr is read line by line in a thread; `wait_for` returns once a line matches.
Its bound only catches a hang (a start-up that never ends): it is minutes, so that a loaded
machine is slow, never red.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.live_server import free_port

SCRIPT = Path(sys.executable).with_name("ideaforge")
HANG_SECONDS = 300.0
_SCRUB = ("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_")


class ServeProcess:
    def __init__(self, *options: str, env: dict[str, str], cwd: Path, log_level: str | None = None) -> None:
        """`options` go after `serve` (`--workers 2`); `log_level` before it (`--log-level info`)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        level = ["--log-level", log_level] if log_level else []
        self._command = [str(SCRIPT), *level, "serve", "--port", str(self.port), *options]
        self._env = {**base, **env}
        self._cwd = cwd
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            self._command,
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True, name="serve-stderr").start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, matches: Callable[[list[str]], bool], what: str) -> list[str]:
        """The lines so far, once `matches(lines)`; fails if the server exits first or hangs."""
        assert self._process is not None
        deadline = time.monotonic() + HANG_SECONDS
        with self._changed:
            while not matches(self.lines):
                exited = self._process.poll() is not None
                assert not exited or matches(self.lines), f"serve exited before {what}: {self.lines}"
                assert time.monotonic() < deadline, f"serve hung: no {what} in {HANG_SECONDS:g} s: {self.lines}"
                self._changed.wait(0.5)
            return list(self.lines)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
