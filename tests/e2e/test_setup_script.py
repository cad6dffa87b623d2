"""`scripts/setup.py` finds uv the first way that works and says in one line when none does.

The ways that fetch uv from PyPI are not run here (tests stay on loopback): CI runs README's
first line from a fresh clone on Debian's python3 (`scripts/check-fresh-clone`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup.py"


def setup(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": path}
    return subprocess.run(
        [sys.executable, str(SETUP), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_uv_on_path_comes_first(tmp_path: Path) -> None:
    fake = tmp_path / "uv"
    fake.write_text("#!/bin/sh\necho 'uv 0.0.0'\n")
    fake.chmod(0o755)
    done = setup("--only-uv", path=f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(fake)


def test_a_way_that_does_not_work_is_one_clear_line(tmp_path: Path) -> None:
    # This venv's Python has no `uv` module, and nothing was fetched into .tools/ by a test.
    done = setup("--via", "module", "--only-uv", path="/usr/bin:/bin")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == ["setup: could not get uv (tried: module): install uv and run again"]
    assert done.stdout == ""
