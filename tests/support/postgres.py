"""A throwaway PostgreSQL server for tests, or the one named by IDEAFORGE_TEST_POSTGRES_URL.

`PostgresServer.start()` runs initdb and pg_ctl in a temporary folder, listening on 127.0.0.1 on
a free port (socket in the same folder), trust authentication, durability off for speed. As root
it runs them as the `postgres` system user, since initdb refuses root. `create_database()` gives
each test its own database. No binaries is an error, never a skip: CI installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

URL_ENV = "IDEAFORGE_TEST_POSTGRES_URL"
BIN_ENV = "IDEAFORGE_TEST_POSTGRES_BIN"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says what to install or set."""


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: $IDEAFORGE_TEST_POSTGRES_BIN, pg_config, or Debian's."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: "
        f"`apt-get install postgresql`), set {BIN_ENV} to their folder, or set {URL_ENV} to "
        "postgresql+psycopg://USER@HOST:PORT/DB of a server where USER may create databases"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A server to create test databases on; `admin_url` is a psycopg (libpq) URL."""

    def __init__(
        self,
        admin_url: str,
        *,
        root: Path | None = None,
        stop_command: Sequence[str] = (),
        start_command: Sequence[str] = (),
    ) -> None:
        self.admin_url = admin_url
        self.root = root
        self._stop_command = list(stop_command)
        self._start_command = list(start_command)

    @classmethod
    def from_environment(cls) -> PostgresServer:
        """The server of IDEAFORGE_TEST_POSTGRES_URL if set, else a fresh private one."""
        url = os.environ.get(URL_ENV)
        if url:
            return cls(url.replace("postgresql+psycopg://", "postgresql://", 1))
        return cls.start()

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        as_user: list[str] = []
        root = Path(tempfile.mkdtemp(prefix="ideaforge-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    "running as root, and initdb refuses root: create a `postgres` system user "
                    f"(the Debian postgresql package does) or set {URL_ENV}"
                ) from None
            os.chown(root, account.pw_uid, account.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        data, log = root / "data", root / "server.log"
        try:
            initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
            _run("initdb", [*as_user, *initdb, "--no-sync", "--no-instructions"])
            for _attempt in range(3):
                port = _free_port()
                options = (
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                )
                pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
                started = subprocess.run(
                    [*as_user, *pg_ctl, "-w", "-t", "60", "start"], capture_output=True, text=True, check=False
                )
                if started.returncode == 0:
                    stop = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                    return cls(
                        f"postgresql://postgres@127.0.0.1:{port}/postgres",
                        root=root,
                        stop_command=stop,
                        start_command=[*as_user, *pg_ctl, "-w", "-t", "60", "start"],
                    )
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed three times:\n{started.stderr}\n{tail}")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise

    @property
    def data_dir(self) -> Path | None:
        """The cluster's files, when this process started the server (readable as root)."""
        return None if self.root is None else self.root / "data"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL (postgresql+psycopg://...)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self._url_for(name).replace("postgresql://", "postgresql+psycopg://", 1)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def checkpoint(self) -> None:
        """Flush every change to the data files, so tests can inspect them."""
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute("CHECKPOINT")

    def halt(self) -> None:
        """Stop the server (`pg_ctl stop -m fast`: connections cut, commits kept, which the
        immediate stop of `stop` does not promise with synchronous_commit off), keeping its data
        for `resume`. Only for a server this process started."""
        assert self._stop_command, "only a server started here can be halted"
        fast = [("fast" if part == "immediate" else part) for part in self._stop_command]
        subprocess.run(fast, capture_output=True, check=True, timeout=60)

    def resume(self) -> None:
        """Start a halted server again, on the same port and data."""
        assert self._start_command, "only a server started here can be resumed"
        _run("pg_ctl start", self._start_command)

    def freeze(self) -> list[int]:
        """SIGSTOP the postmaster and every backend (a hung host, as the issue saw); returns the
        process ids for `thaw`. Connections stay open and their bytes are acknowledged."""
        assert self.data_dir is not None, "only a server started here can be frozen"
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        pids = [postmaster, *_children(postmaster)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # a backend that has just exited
                os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def thaw(pids: Sequence[int]) -> None:
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self._stop_command:
            subprocess.run(self._stop_command, capture_output=True, check=False, timeout=60)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _url_for(self, database: str) -> str:
        base, _, query = self.admin_url.partition("?")
        base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
        return f"{base}/{database}" + (f"?{query}" if query else "")


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name, in parentheses, may hold spaces: fields count from its end.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def _run(label: str, command: Sequence[str]) -> None:
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{label} failed: {done.stderr.strip()[-2000:]}")
