"""AesGcmCipher, KeyRing and the key file: no I/O beyond a temporary folder."""

from __future__ import annotations

import base64
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.crypto import (
    AesGcmCipher,
    DecryptionError,
    FieldBinding,
    KeyRing,
    load_or_create_key_file,
)
from ideaforge_gateway.domain.errors import ConfigurationError, CredentialUnreadableError

K1 = KeyRing.generate_entry("k1")
K2 = KeyRing.generate_entry("k2")
HERE = FieldBinding(user_id="u1", provider="openai", field="api_key")
CIPHER = AesGcmCipher(KeyRing.parse(K1))


def key_material(entry: str) -> str:
    return entry.split(":", 1)[1]


@given(st.text())
def test_round_trip(plaintext: str) -> None:
    assert CIPHER.decrypt(CIPHER.encrypt(plaintext, HERE), HERE) == plaintext


def test_format_names_the_key_and_hides_the_plaintext() -> None:
    ciphertext = CIPHER.encrypt("sk-plaintext", HERE)
    assert ciphertext.startswith("v1.k1.") and "sk-plaintext" not in ciphertext
    assert CIPHER.key_id_of(ciphertext) == "k1"


def test_every_encryption_uses_a_fresh_nonce() -> None:
    values = {CIPHER.encrypt("same", HERE) for _ in range(50)}
    nonces = {base64.urlsafe_b64decode(v.split(".")[2] + "==")[:12] for v in values}
    assert len(values) == len(nonces) == 50


@pytest.mark.parametrize(
    "elsewhere",
    [
        FieldBinding(user_id="u2", provider="openai", field="api_key"),
        FieldBinding(user_id="u1", provider="anthropic", field="api_key"),
        FieldBinding(user_id="u1", provider="openai", field="client_secret"),
        FieldBinding(user_id="u1o", provider="penai", field="api_key"),  # same concatenation
    ],
)
def test_a_value_decrypts_only_where_it_was_bound(elsewhere: FieldBinding) -> None:
    ciphertext = CIPHER.encrypt("sk-secret", HERE)
    with pytest.raises(DecryptionError, match="does not belong") as caught:
        CIPHER.decrypt(ciphertext, elsewhere)
    assert "sk-secret" not in str(caught.value) and caught.value.kid == "k1"


@given(st.data())
def test_any_tampered_byte_is_detected(data: st.DataObject) -> None:
    ciphertext = CIPHER.encrypt("sk-secret", HERE)
    payload = bytearray(base64.urlsafe_b64decode(ciphertext.split(".")[2] + "=="))
    index = data.draw(st.integers(0, len(payload) - 1))
    payload[index] ^= data.draw(st.integers(1, 255))
    tampered = "v1.k1." + base64.urlsafe_b64encode(bytes(payload)).decode().rstrip("=")
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(tampered, HERE)


def test_relabelling_the_kid_is_detected() -> None:
    both = AesGcmCipher(KeyRing.parse(f"{K1},{K2}"))
    ciphertext = both.encrypt("sk-secret", HERE)
    with pytest.raises(DecryptionError):
        both.decrypt(ciphertext.replace("v1.k1.", "v1.k2.", 1), HERE)


def test_an_unknown_key_is_named_without_secrets() -> None:
    ciphertext = CIPHER.encrypt("sk-secret", HERE)
    other = AesGcmCipher(KeyRing.parse(K2))
    with pytest.raises(DecryptionError) as caught:
        other.decrypt(ciphertext, HERE)
    assert caught.value.detail == "key 'k1' is not configured" and caught.value.kid == "k1"
    assert isinstance(caught.value, CredentialUnreadableError)
    assert key_material(K1) not in str(caught.value) and key_material(K2) not in str(caught.value)


@pytest.mark.parametrize("garbage", ["", "plain", "v2.k1.AAAA", "v1.k1.", "v1.k1.AAAA", "v1.k1.!!!!", "v1..AAAA"])
def test_malformed_values_raise_decryption_error(garbage: str) -> None:
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(garbage, HERE)
    if not garbage.startswith("v1.k1.A"):
        assert not CIPHER.is_current(garbage), "is_current reads the header only"


def test_rotation_primitives() -> None:
    old = CIPHER.encrypt("sk-secret", HERE)
    rotated = AesGcmCipher(KeyRing.parse(f"{K2},{K1}"))
    assert CIPHER.is_current(old) and not rotated.is_current(old)

    new = rotated.reencrypt(old, HERE)

    assert rotated.is_current(new) and rotated.key_id_of(new) == "k2"
    assert AesGcmCipher(KeyRing.parse(K2)).decrypt(new, HERE) == "sk-secret"


def test_keyring_parses_entries_in_order() -> None:
    ring = KeyRing.parse(f" {K2} ,\n{K1},")
    assert ring.primary_kid == "k2" and ring.kids == ("k2", "k1") and "k1" in ring
    urlsafe = "k3:" + base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert KeyRing.parse(urlsafe).key("k3") == b"\xfb" * 32


def test_keyring_repr_shows_no_key() -> None:
    ring = KeyRing.parse(f"{K1},{K2}")
    shown = repr(ring) + repr(AesGcmCipher(ring)) + str(ring)
    assert "k1" in shown and key_material(K1) not in shown and key_material(K2) not in shown


def test_generated_entries_are_fresh_and_valid() -> None:
    first, second = KeyRing.generate_entry("main"), KeyRing.generate_entry("main")
    assert first != second and first.startswith("main:")
    assert len(base64.b64decode(key_material(first))) == 32
    with pytest.raises(ConfigurationError):
        KeyRing.generate_entry("bad kid!")


SHORT = "k9:" + base64.b64encode(b"x" * 16).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        (" , ", "holds no key"),
        (key_material(K1), "entry 1 is not of the form"),
        (f"{K1},k2:", "entry 2 is not of the form"),
        (f"{K1},{K1}", "'k1' appears more than once"),
        ("k1:not*base64", "'k1' is not valid base64"),
        (SHORT, "'k9' is 16 bytes long, not 32"),
        (f"{key_material(K1)}:k1", "entry 1 has an invalid key id"),  # reversed: must not echo the key
        ("k.1:" + key_material(K1), "invalid key id"),
    ],
)
def test_keyring_errors_are_clear_and_keep_keys_secret(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        KeyRing.parse(text, source="IDEAFORGE_ENCRYPTION_KEYS")
    shown = str(caught.value)
    assert shown.startswith("IDEAFORGE_ENCRYPTION_KEYS")
    assert key_material(K1) not in shown and key_material(SHORT) not in shown


def test_key_file_is_created_once_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "encryption.key"

    first = load_or_create_key_file(path)
    ciphertext = AesGcmCipher(first).encrypt("sk-secret", HERE)
    second = load_or_create_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AesGcmCipher(second).decrypt(ciphertext, HERE) == "sk-secret"
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"], "no temporary file is left"


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        rings = list(pool.map(lambda _: load_or_create_key_file(path), range(16)))
    ciphertext = AesGcmCipher(rings[0]).encrypt("x", HERE)
    assert all(AesGcmCipher(ring).decrypt(ciphertext, HERE) == "x" for ring in rings)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_key_file(path)


def test_a_corrupt_key_file_names_the_file_not_the_content(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, key_material(K1).encode())
    os.close(fd)
    with pytest.raises(ConfigurationError, match=r"encryption\.key") as caught:
        load_or_create_key_file(path)
    assert key_material(K1) not in str(caught.value)
