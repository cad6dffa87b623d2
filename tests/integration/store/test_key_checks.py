"""Keys that cannot be lost silently (issue 18, case 4): unique key ids, no new key file beside
values it cannot read, and a start-up check that the keys read what is stored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing, load_or_create_key_file, new_key_id
from ideaforge_gateway.domain.errors import ConfigurationError
from tests.support.app import container_for
from tests.support.cli import run_cli
from tests.support.live_server import LiveServer

KEY_ID = re.compile(r"k\d{8}-[0-9a-f]{4}")


def test_key_ids_are_unique_per_key(tmp_path: Path) -> None:
    ids = {new_key_id() for _ in range(50)}
    assert len(ids) > 45 and all(KEY_ID.fullmatch(kid) for kid in ids)
    first = load_or_create_key_file(tmp_path / "a" / "encryption.key")
    second = load_or_create_key_file(tmp_path / "b" / "encryption.key")
    assert KEY_ID.fullmatch(first.primary_kid) and first.primary_kid != second.primary_kid
    generated = [run_cli("keys", "generate", env={}, cwd=tmp_path) for _ in range(2)]
    kids = [g.stdout.split(":", 1)[0] for g in generated]
    assert all(g.code == 0 for g in generated) and all(KEY_ID.fullmatch(k) for k in kids) and kids[0] != kids[1]


def _store_one_credential(tmp_path: Path, **settings: object) -> None:
    with LiveServer(container_for(tmp_path, **settings)) as server:
        token = server.create_user("alice")
        answer = httpx.post(
            f"{server.url}/api/providers/configure",
            json={"openaiApiKey": "sk-key-check"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def _start(tmp_path: Path, **settings: object) -> None:
    """What every start does first: settings, keys, migrations and the key check."""
    container = container_for(tmp_path, **settings)
    try:
        container.engine()
    finally:
        container.shutdown_resources()


def test_a_deleted_key_file_is_not_replaced_beside_values_it_cannot_read(tmp_path: Path) -> None:
    _store_one_credential(tmp_path)
    key_file = tmp_path / "data" / "encryption.key"
    key_file.unlink()
    with pytest.raises(ConfigurationError, match="restore it or set IDEAFORGE_ENCRYPTION_KEYS"):
        _start(tmp_path)
    assert not key_file.exists()
    env = {"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}
    for args in (("users", "list"), ("serve", "--port", "1")):
        refused = run_cli(*args, env=env, cwd=tmp_path)
        assert refused.code == 1, refused.output
        assert (
            refused.stderr.strip().count("\n") == 0 and "restore it or set IDEAFORGE_ENCRYPTION_KEYS" in refused.stderr
        )
        assert "Traceback" not in refused.output
    assert not key_file.exists()


def test_a_wrong_or_missing_key_stops_the_start_naming_the_key_ids(tmp_path: Path) -> None:
    right = KeyRing.generate_entry("k20260101-aaaa")
    _store_one_credential(tmp_path, ideaforge_encryption_keys=right)
    wrong = KeyRing.generate_entry("k20260101-aaaa")  # same id, other bytes
    with pytest.raises(ConfigurationError) as caught:
        _start(tmp_path, ideaforge_encryption_keys=wrong)
    assert "does not decrypt the values stored under that id" in caught.value.message
    assert "k20260101-aaaa (1)" in caught.value.message
    other = KeyRing.generate_entry("k20260202-bbbb")
    with pytest.raises(ConfigurationError) as missing:
        _start(tmp_path, ideaforge_encryption_keys=other)
    assert "key id k20260101-aaaa is not configured" in missing.value.message
    assert "configured: k20260202-bbbb" in missing.value.message
    assert right.split(":", 1)[1] not in missing.value.message
    # The right key, first or second, starts.
    _start(tmp_path, ideaforge_encryption_keys=f"{other},{right}")
    # An operator who lost the key for good may start anyway; the users then configure again.
    _start(tmp_path, ideaforge_encryption_keys=other, ideaforge_accept_unreadable_credentials=True)
