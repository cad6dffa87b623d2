"""SIGKILL at random moments: during `ideaforge providers configure` and during `ideaforge keys
rotate`, on SQLite and on PostgreSQL. After a restart every stored credential is the old one or
the new one, complete and decryptable; a killed rotation finishes when run again.

To hit the middle of a write, the child imports `tests/support/slow_commit/sitecustomize.py`: each
commit flushes, reports `flushed N`, sleeps, then commits. Kills land mid-transaction (after a
`flushed N write`), just after a commit, or at a random time from start-up.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from devkit.report import Report, Section
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import AesGcmCipher, KeyRing
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore, make_engine, upgrade_database
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from tests.support.postgres import PostgresServer

SCRIPT = Path(sys.executable).with_name("ideaforge")
SLOW_COMMIT = Path(__file__).resolve().parents[1] / "support" / "slow_commit"
REPO = Path(__file__).resolve().parents[2]
K1 = KeyRing.generate_entry("k1")
K2 = KeyRing.generate_entry("k2")
SEED = int(os.environ.get("IDEAFORGE_CRASH_SEED") or time.time_ns() % 1_000_000)
BASE_URL = "http://127.0.0.1:9"
INTRO = (
    "A child `ideaforge` process is killed with SIGKILL, then the store is opened again (a restart: "
    "new engine, migrations) and every credential is read back. `mid-write` kills land while a write "
    "transaction is open (its changes flushed, not committed); `after commit` just after a commit; "
    "`random` at a uniformly random time from process start. Commits are slowed by a "
    f"`sitecustomize` injected in the child (test support only). Random seed {SEED} "
    "(set IDEAFORGE_CRASH_SEED to replay)."
)
HEADER = ["backend", "operation", "kill", "killed at", "stored after restart", "readable", "ok"]


@dataclass
class Store:
    backend: str
    url: str
    env: dict[str, str]

    def open(self, keys: str = K1) -> tuple[SqlModelCredentialStore, SqlModelUserStore, object]:
        engine = make_engine(self.url)
        upgrade_database(engine)
        return SqlModelCredentialStore(engine, AesGcmCipher(KeyRing.parse(keys))), SqlModelUserStore(engine), engine

    def integrity(self) -> str:
        if self.backend != "sqlite":
            return "ok"
        path = self.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    data = tmp_path / "data"
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'ideaforge.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
    env = {
        "IDEAFORGE_DATA_DIR": str(data),
        "IDEAFORGE_DATABASE_URL": url,
        "IDEAFORGE_ENCRYPTION_KEYS": K1,
        "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true",
    }
    yield Store(request.param, url, env)
    if request.param == "postgresql":
        request.getfixturevalue("postgres_server").drop_database(url)


@pytest.fixture
def crash_table(report: Report) -> Section:
    return report.section("crash", "Crash consistency: SIGKILL, then restart", INTRO, HEADER)


class Child:
    """An `ideaforge` process with slow commits, watched through its marks file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, stdin: str, delay: float) -> None:
        self.marks = cwd / f"marks-{time.monotonic_ns()}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AI_GATEWAY_", "IDEAFORGE_"))}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(SCRIPT), *args],
            env={
                **base,
                **env,
                "PYTHONPATH": os.pathsep.join([str(SLOW_COMMIT), str(REPO)]),
                "IDEAFORGE_TEST_COMMIT_DELAY": str(delay),
                "IDEAFORGE_TEST_COMMIT_MARKS": str(self.marks),
            },
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(stdin.encode())
        self.process.stdin.close()

    def lines(self) -> list[str]:
        return self.marks.read_text().splitlines() if self.marks.exists() else []

    def wait_for(self, predicate: object, timeout: float = 30.0) -> bool:
        """Until `predicate(lines)` holds (True) or the child exits first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.lines()):  # type: ignore[operator]
                return True
            if self.process.poll() is not None:
                return bool(predicate(self.lines()))  # type: ignore[operator]
            time.sleep(0.005)
        raise AssertionError(f"child never reached the moment; marks: {self.lines()}")

    def kill(self) -> str:
        """SIGKILL now; what the child had done by then."""
        done = self.lines()
        exited = self.process.poll() is not None
        if not exited:
            self.process.send_signal(signal.SIGKILL)
        code = self.process.wait(30)
        assert self.process.stderr is not None
        errors = self.process.stderr.read().decode(errors="replace")
        self.process.stderr.close()
        if exited:
            assert code == 0, errors[-2000:]
            return "after it finished"
        assert code == -signal.SIGKILL, errors[-2000:]
        at = f"{time.monotonic() - self.started:.2f} s"
        return f"{at}, after {done[-1]!r}" if done else f"{at}, before any commit"


def gateway(n: int | str) -> ProviderCredentials:
    return ProviderCredentials(
        ProviderName.AI_GATEWAY,
        api_key=SecretStr(f"client-{n}"),
        client_secret=SecretStr(f"secret-{n}"),
        base_url=BASE_URL,
    )


def pair(credentials: ProviderCredentials | None) -> tuple[str, str] | None:
    if credentials is None:
        return None
    secret = credentials.client_secret.get_secret_value() if credentials.client_secret else ""
    return credentials.api_key.get_secret_value(), secret


def _writes(lines: list[str]) -> list[str]:
    return [line for line in lines if line.endswith(" write")]


def _committed_write(lines: list[str]) -> bool:
    return any(f"committed {line.split()[1]}" in lines for line in _writes(lines))


KILLS = ("mid-write", "after commit", "random")


def _kill(child: Child, kill: str, rng: random.Random) -> str:
    if kill == "mid-write":
        child.wait_for(lambda lines: bool(_writes(lines)))
        time.sleep(rng.uniform(0, 0.1))
    elif kill == "after commit":
        child.wait_for(_committed_write)
    else:
        time.sleep(rng.uniform(0.1, 2.5))
    return child.kill()


def test_configure_killed_at_random_moments(store: Store, tmp_path: Path, crash_table: Section) -> None:
    """One user per kill, all children at once (they queue for the write lock, as real ones would)."""
    rng = random.Random(f"{SEED}-{store.backend}-configure")
    credentials, users, engine = store.open()
    ids = []
    for n in range(len(KILLS)):
        uid = users.create(f"user{n}")[0].id
        credentials.save(uid, gateway(f"old-{n}"))
        credentials.save(uid, ProviderCredentials(ProviderName.OPENAI, api_key=SecretStr(f"sk-untouched-{n}")))
        ids.append(uid)
    engine.dispose()  # type: ignore[attr-defined]
    children = [
        Child(
            [
                "providers",
                "configure",
                "ai_gateway",
                "--user",
                f"user{n}",
                "--client-id",
                f"client-{n}",
                "--base-url",
                BASE_URL,
            ],
            store.env,
            tmp_path,
            stdin=f"secret-{n}\n",
            delay=0.3,
        )
        for n in range(len(KILLS))
    ]
    delays = [random.Random(rng.random()) for _ in KILLS]
    with ThreadPoolExecutor(len(KILLS)) as pool:
        killed = list(pool.map(_kill, children, KILLS, delays))

    # The restart: a new engine, migrations run, every credential read back.
    credentials, _, engine = store.open()
    outcomes = []
    for n, (uid, kill, killed_at) in enumerate(zip(ids, KILLS, killed, strict=True)):
        stored = credentials.get(uid, ProviderName.AI_GATEWAY)
        untouched = credentials.get(uid, ProviderName.OPENAI)
        found = pair(stored.credentials) if stored else None
        which = "old" if found == pair(gateway(f"old-{n}")) else "new" if found == pair(gateway(n)) else f"{found}"
        readable = stored is not None and not stored.needs_reconfiguration and untouched is not None
        readable = readable and pair(untouched.credentials) == (f"sk-untouched-{n}", "")  # type: ignore[union-attr]
        ok = which in ("old", "new") and readable
        ok = ok and not (kill == "mid-write" and which != "old") and not (kill == "after commit" and which != "new")
        crash_table.add(store.backend, "providers configure", kill, killed_at, which, readable, "✓" if ok else "✗")
        outcomes.append((kill, which, readable))
    engine.dispose()  # type: ignore[attr-defined]
    assert store.integrity() == "ok"
    for kill, which, readable in outcomes:
        assert which in ("old", "new"), f"half-written: {which}"
        assert readable, "a credential became unreadable or was lost"
        if kill == "mid-write":
            assert which == "old", "a transaction killed before its commit must not be visible"
        if kill == "after commit":
            assert which == "new", "a committed write must survive the kill"


def kids(engine: object) -> list[str]:
    import json

    with engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(text("SELECT api_key_encrypted, metadata FROM user_api_keys")).all()
    found = []
    for api_key, meta in rows:
        found.append(api_key.split(".")[1])
        secret = (meta if isinstance(meta, dict) else json.loads(meta)).get("client_secret")
        if secret:
            found.append(secret.split(".")[1])
    return found


def test_key_rotation_killed_then_run_again(store: Store, tmp_path: Path, crash_table: Section) -> None:
    rng = random.Random(f"{SEED}-{store.backend}-rotate")
    credentials, users, engine = store.open(K1)
    expected: dict[tuple[str, ProviderName], tuple[str, str] | None] = {}
    for n in range(10):
        uid = users.create(f"user{n}")[0].id
        credentials.save(uid, gateway(n))
        credentials.save(uid, ProviderCredentials(ProviderName.OPENAI, api_key=SecretStr(f"sk-{n}")))
        expected[(uid, ProviderName.AI_GATEWAY)] = pair(gateway(n))
        expected[(uid, ProviderName.OPENAI)] = (f"sk-{n}", "")
    engine.dispose()  # type: ignore[attr-defined]
    env = {**store.env, "IDEAFORGE_ENCRYPTION_KEYS": f"{K2},{K1}"}

    child = Child(["keys", "rotate", "--json"], env, tmp_path, stdin="", delay=0.04)
    target = rng.randint(3, 14)
    child.wait_for(lambda lines: len(_writes(lines)) >= target)
    time.sleep(rng.uniform(0, 0.04))
    killed_at = child.kill()

    def read_back(keys: str) -> tuple[dict[tuple[str, ProviderName], tuple[str, str] | None], list[str]]:
        reader, _, opened = store.open(keys)
        found = {key: pair(s.credentials) for key in expected if (s := reader.get(*key)) is not None}
        stored_kids = kids(opened)
        opened.dispose()  # type: ignore[attr-defined]
        return found, stored_kids

    found, half = read_back(f"{K2},{K1}")
    ok = found == expected and 0 < half.count("k2") < len(half)
    crash_table.add(
        store.backend,
        "keys rotate",
        f"mid-rotation (row {target})",
        killed_at,
        f"{half.count('k2')} of {len(half)} values under the new key",
        found == expected,
        "✓" if ok else "✗",
    )
    assert found == expected, "after the kill every row must be whole, old or new, and readable"
    assert 0 < half.count("k2") < len(half), "the kill should have landed half-way"

    again = subprocess.run(
        [str(SCRIPT), "keys", "rotate", "--json"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("IDEAFORGE_")}, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    found, after = read_back(K2)  # the old key dropped
    ok = found == expected and set(after) == {"k2"}
    crash_table.add(
        store.backend,
        "keys rotate",
        "run again, old key dropped",
        "-",
        f"{after.count('k2')} of {len(after)} values under the new key",
        found == expected,
        "✓" if ok else "✗",
    )
    assert found == expected and set(after) == {"k2"}
