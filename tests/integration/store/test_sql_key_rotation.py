"""Key rotation: add the new key first, rotate, drop the old key; survive a SIGKILL half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine, text

from ideaforge_gateway.adapters.crypto import AesGcmCipher, KeyRing
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore, rotate_keys
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from tests.integration.store.conftest import KEY_K1, KEY_K2, Database

ROOT = Path(__file__).resolve().parents[3]
K2_THEN_K1 = AesGcmCipher(KeyRing.parse(f"{KEY_K2},{KEY_K1}"))
K2_ONLY = AesGcmCipher(KeyRing.parse(KEY_K2))

_ROTATE_SLOWLY = """
import os, sys, time
from ideaforge_gateway.adapters.crypto import AesGcmCipher, KeyRing
from ideaforge_gateway.adapters.sql import make_engine, rotate_keys

def progress(done: int, total: int) -> None:
    print(done, flush=True)
    time.sleep(0.03)

engine = make_engine(os.environ["ROTATE_DATABASE_URL"])
rotate_keys(engine, AesGcmCipher(KeyRing.parse(os.environ["ROTATE_KEYS"])), progress)
print("finished", flush=True)
"""


def fill(store: SqlModelCredentialStore, users: SqlModelUserStore, count: int) -> dict[tuple[str, str], str]:
    """`count` rows: gateway rows (two secrets each) and OpenAI rows; returns the secrets by row."""
    expected: dict[tuple[str, str], str] = {}
    for n in range((count + 1) // 2):
        uid = users.create(f"user{n}")[0].id
        store.save(
            uid,
            ProviderCredentials(
                provider=ProviderName.AI_GATEWAY, api_key=SecretStr(f"id-{n}"), client_secret=SecretStr(f"cs-{n}")
            ),
        )
        expected[(uid, "ai_gateway")] = f"id-{n}/cs-{n}"
        if len(expected) < count:
            store.save(uid, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr(f"sk-{n}")))
            expected[(uid, "openai")] = f"sk-{n}/None"
    return expected


def readable(store: SqlModelCredentialStore, expected: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for uid in {uid for uid, _ in expected}:
        for stored in store.list(uid):
            if stored.credentials is not None:
                secret = stored.credentials.client_secret
                found[(uid, stored.provider.value)] = (
                    f"{stored.credentials.api_key.get_secret_value()}/{secret.get_secret_value() if secret else None}"
                )
    return found


def kids(engine: Engine) -> list[str]:
    """The kid of every stored value (api key and client secret), as stored."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT api_key_encrypted, metadata FROM user_api_keys")).all()
    values: list[str] = []
    for api_key, meta in rows:
        values.append(api_key)
        secret = (meta if isinstance(meta, dict) else json.loads(meta)).get("client_secret")
        if secret:
            values.append(secret)
    return [value.split(".")[1] for value in values]


def test_rotate_then_drop_the_old_key(engine: Engine, store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    expected = fill(store, users, 7)
    seen: list[tuple[int, int]] = []

    report = rotate_keys(engine, K2_THEN_K1, lambda done, total: seen.append((done, total)))

    assert (report.primary_kid, report.rows_scanned, report.rows_reencrypted) == ("k2", 7, 7)
    assert report.values_reencrypted == 7 + 4 and report.unreadable == ()
    assert seen == [(n, 7) for n in range(1, 8)]
    assert set(kids(engine)) == {"k2"}
    assert readable(SqlModelCredentialStore(engine, K2_ONLY), expected) == expected

    again = rotate_keys(engine, K2_THEN_K1)
    assert (again.rows_scanned, again.rows_reencrypted, again.values_reencrypted) == (7, 0, 0)


def test_rotation_leaves_unreadable_rows_alone_and_reports_them(
    engine: Engine, store: SqlModelCredentialStore, users: SqlModelUserStore
) -> None:
    expected = fill(store, users, 4)
    lost_owner = users.create("lost")[0].id
    SqlModelCredentialStore(engine, AesGcmCipher(KeyRing.parse(KeyRing.generate_entry("k0")))).save(
        lost_owner, ProviderCredentials(provider=ProviderName.GEMINI, api_key=SecretStr("gm-lost"))
    )

    report = rotate_keys(engine, K2_THEN_K1)

    assert (report.rows_scanned, report.rows_reencrypted) == (5, 4)
    assert [(row.user_id, row.provider) for row in report.unreadable] == [(lost_owner, "gemini")]
    assert report.unreadable[0].reason == "key 'k0' is not configured"
    assert readable(SqlModelCredentialStore(engine, K2_ONLY), expected) == expected
    assert sorted(kids(engine)) == ["k0"] + ["k2"] * 6


def test_a_rotation_killed_half_way_finishes_when_run_again(
    database: Database, engine: Engine, store: SqlModelCredentialStore, users: SqlModelUserStore
) -> None:
    expected = fill(store, users, 60)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ROTATE_DATABASE_URL": database.url,
        "ROTATE_KEYS": f"{KEY_K2},{KEY_K1}",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _ROTATE_SLOWLY], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        for line in child.stdout:
            if line.strip().isdigit() and int(line) >= 20:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
        errors = child.stderr.read()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"the rotation must be killed, not end by itself:\n{errors[-2000:]}"

    half = kids(engine)
    assert 20 <= half.count("k2") < len(half), f"expected a half-rotated store, got {half.count('k2')} of {len(half)}"
    assert readable(SqlModelCredentialStore(engine, K2_THEN_K1), expected) == expected, "every row old or new"

    report = rotate_keys(engine, K2_THEN_K1)

    assert report.rows_scanned == 60 and 0 < report.rows_reencrypted <= 40 and report.unreadable == ()
    assert set(kids(engine)) == {"k2"}
    assert readable(SqlModelCredentialStore(engine, K2_ONLY), expected) == expected, "nothing lost"
    assert rotate_keys(engine, K2_THEN_K1).rows_reencrypted == 0
