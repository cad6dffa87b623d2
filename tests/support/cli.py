"""Run the real `ideaforge` command in a subprocess, with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("ideaforge")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None, timeout: float = 60) -> CliResult:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_"))
    }
    base.update(env)
    done = subprocess.run(
        [str(_SCRIPT), *args],
        env=base,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
