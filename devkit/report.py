"""The writer of `docs/reliability.md`: tables the suite (and the load bench) fill while they run.

Written only by an explicit command: `pytest tests/reliability --write-report`, or
`python -m bench.reliability_load`; a plain test run measures and writes nothing.

The page is a sequence of sections between `<!-- section:KEY -->` and `<!-- /section:KEY -->`
markers. A run replaces the sections it measured and keeps the others as they were, so the test
suite and `bench/reliability_load.py` can each write their own part, and a partial run (`-k`)
does not erase what it did not run.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from devkit.machine import cpu_model, package_version

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "reliability.md"

TITLE = """# Reliability and security: what this gateway survives

Generated, only on purpose: `.venv/bin/pytest tests/reliability --write-report` writes every
section but the load figures, which `.venv/bin/python -m bench.reliability_load` writes (the
default test command runs the same tests and writes nothing). Each section says when and how it
was measured. Edit the generators (`tests/reliability/`, `bench/reliability_*.py`), not this page.

Proven elsewhere, and not repeated here: the fallback chain's decisions through the container
(`tests/integration/test_fallback_chain.py`), the encrypted store at the function level on SQLite and
PostgreSQL, rotation and a SIGKILL mid-rotation included (`tests/integration/store/`), `ideaforge serve
--workers 2` on PostgreSQL (`tests/e2e/test_serve_workers_postgres.py`), schemathesis over every
operation (`tests/integration/http/test_schemathesis.py`), and the token and adapter canaries
(`tests/integration/test_secrets_never_leak.py`).
"""

ORDER = (
    "machine",
    "faults",
    "canaries",
    "at-rest",
    "crash",
    "workers",
    "load",
    "long-faults",
    "bad-input",
    "hardening",
    "findings",
)
_PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "httpx-aiohttp",
    "aiohttp",
    "httpx-sse",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "cryptography",
    "hypothesis",
    "schemathesis",
)


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(c) for c in cells])

    def render(self, run: str) -> str:
        lines = [f"## {self.title}", "", f"_{run}_", ""]
        if self.intro:
            lines += [self.intro, ""]
        if self.header:
            lines.append("| " + " | ".join(self.header) + " |")
            lines.append("|" + "---|" * len(self.header))
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


class Report:
    """Sections filled during one run; `write()` merges them into the page."""

    def __init__(self, command: str | None = None) -> None:
        self.command = command or "pytest " + shlex.join(sys.argv[1:])
        self.started = datetime.now(UTC)
        self._sections: dict[str, Section] = {}
        self._lock = threading.Lock()

    def section(self, key: str, title: str, intro: str = "", header: list[str] | None = None) -> Section:
        assert key in ORDER, key
        with self._lock:
            found = self._sections.get(key)
            if found is None:
                found = self._sections[key] = Section(key, title, intro, list(header or []))
            return found

    def __bool__(self) -> bool:
        return bool(self._sections)

    def write(self, path: Path = DOC) -> None:
        if not self._sections:
            return
        run = f"Measured {self.started:%Y-%m-%d %H:%M} UTC by `{self.command}` on {machine_summary()}."
        rendered = {key: s.render(run) for key, s in self._sections.items()}
        rendered["machine"] = Section("machine", "Machine and versions", notes=machine_lines()).render(run)
        write_sections(rendered, path)


def write_sections(rendered: dict[str, str], path: Path = DOC) -> None:
    """Replace these sections of the page, keep the rest, in `ORDER`."""
    existing = read_sections(path)
    existing.update(rendered)
    parts = [TITLE]
    for key in ORDER:
        body = existing.get(key)
        if body is None:
            continue
        parts.append(f"<!-- section:{key} -->\n{body.rstrip()}\n<!-- /section:{key} -->\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".md.tmp")
    temporary.write_text("\n".join(parts))
    temporary.replace(path)


def read_sections(path: Path = DOC) -> dict[str, str]:
    if not path.exists():
        return {}
    text = path.read_text()
    found = re.findall(r"<!-- section:([a-z-]+) -->\n(.*?)<!-- /section:\1 -->", text, flags=re.S)
    return {key: body for key, body in found}


def machine_summary() -> str:
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}"


def machine_lines() -> list[str]:
    versions = ", ".join(f"{name} {package_version(name)}" for name in _PACKAGES)
    return [
        f"CPU: {cpu_model()}; {os.cpu_count()} CPUs, usable {sorted(os.sched_getaffinity(0))}; "
        f"load average {' / '.join(f'{v:.2f}' for v in os.getloadavg())} when written",
        f"OS: {platform.platform()}",
        f"Python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"PostgreSQL: {_postgres_version()}",
        f"packages: {versions}",
    ]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _postgres_version() -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres")) or [Path(shutil.which("postgres") or "postgres")]
    try:
        done = subprocess.run([str(found[-1]), "--version"], capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "not installed"
