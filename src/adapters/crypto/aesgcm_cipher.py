"""AES-256-GCM for values at rest, bound to where they live, under a ring of named keys.

A ciphertext is the text `v1.<kid>.<base64url(nonce || ciphertext+tag)>`:
- a fresh random 96-bit nonce per value (NIST SP 800-38D, 8.2.2; with random nonces one key
  stays safe for far more values than a credential store will ever hold);
- the key id (kid) says which key of the ring encrypted it, so keys can be rotated: the first
  key of the ring encrypts, every key decrypts;
- the associated data is the header plus a `FieldBinding` (user, provider, field), so a value
  copied to another row or field, or relabelled with another kid, fails authentication.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ideaforge_gateway.domain.errors import ConfigurationError, CredentialUnreadableError

_VERSION = "v1"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_CIPHERTEXT = re.compile(r"v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)")


class DecryptionError(CredentialUnreadableError):
    """A value cannot be decrypted: unknown key, wrong key, or tampered / moved value.

    `detail` says which, in words fit for a user ("key 'k1' is not configured"); it never
    contains key material or plaintext.
    """

    def __init__(self, detail: str, *, kid: str | None = None) -> None:
        super().__init__(f"the value cannot be decrypted ({detail})")
        self.detail = detail
        self.kid = kid


@dataclass(frozen=True, slots=True)
class FieldBinding:
    """Where an encrypted value lives; it decrypts only where it was encrypted."""

    user_id: str
    provider: str
    field: str

    def associated_data(self, header: str) -> bytes:
        """Unambiguous encoding: every part length-prefixed, so no two bindings collide."""
        out = bytearray(b"ideaforge-credential")
        for part in (header, self.user_id, self.provider, self.field):
            raw = part.encode()
            out += len(raw).to_bytes(4, "big") + raw
        return bytes(out)


class KeyRing:
    """Named 256-bit keys; the first (the primary) encrypts, all of them decrypt.

    Parsed from `kid:base64key,kid:base64key` (the format of IDEAFORGE_ENCRYPTION_KEYS).
    Neither `repr` nor any error message shows key material.
    """

    __slots__ = ("_keys", "_primary")

    def __init__(self, keys: dict[str, bytes]) -> None:
        """`keys` in priority order: the first is the primary. Raises `ConfigurationError`."""
        if not keys:
            raise ConfigurationError("no encryption key is configured")
        for kid, key in keys.items():
            _check_kid(kid, "encryption keys", position=None)
            if len(key) != _KEY_BYTES:
                raise ConfigurationError(f"encryption key {kid!r} is {len(key)} bytes long, not {_KEY_BYTES}")
        self._keys = dict(keys)
        self._primary = next(iter(self._keys))

    @classmethod
    def parse(cls, text: str, *, source: str = "IDEAFORGE_ENCRYPTION_KEYS") -> KeyRing:
        """Parse `kid:base64key` entries separated by commas or whitespace.

        Raises `ConfigurationError` naming `source` and the offending entry's position or kid
        for a malformed entry, a duplicate kid, bad base64 or a key that is not 32 bytes.
        """
        entries = [entry for entry in re.split(r"[,\s]+", text) if entry]
        if not entries:
            raise ConfigurationError(
                f"{source} holds no key: set it to 'kid:base64key' entries (`ideaforge keys generate` prints one)"
            )
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid or not encoded:
                raise ConfigurationError(f"{source}: entry {position} is not of the form 'kid:base64key'")
            _check_kid(kid, source, position=position)
            if kid in keys:
                raise ConfigurationError(f"{source}: key id {kid!r} appears more than once")
            key = _decode_key(encoded)
            if key is None:
                raise ConfigurationError(f"{source}: key {kid!r} is not valid base64")
            if len(key) != _KEY_BYTES:
                raise ConfigurationError(
                    f"{source}: key {kid!r} is {len(key)} bytes long, not {_KEY_BYTES}: "
                    "use the base64 of 32 random bytes (`ideaforge keys generate`)"
                )
            keys[kid] = key
        return cls(keys)

    @staticmethod
    def generate_entry(kid: str) -> str:
        """A new `kid:base64key` entry holding 32 fresh random bytes."""
        _check_kid(kid, "key id", position=None)
        return f"{kid}:{base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()}"

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose`, derived from the primary key (keyed BLAKE2b): the same in
        every process that holds the same primary key, and no clue to the key itself."""
        return hashlib.blake2b(purpose.encode(), key=self._keys[self._primary], digest_size=32).digest()

    @property
    def primary_kid(self) -> str:
        return self._primary

    @property
    def kids(self) -> tuple[str, ...]:
        """Every key id, the primary first."""
        return tuple(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def key(self, kid: str) -> bytes | None:
        return self._keys.get(kid)

    def __repr__(self) -> str:
        return f"KeyRing(kids={list(self._keys)!r}, primary={self._primary!r})"


class AesGcmCipher:
    """Encrypts text values bound to a `FieldBinding`, under a `KeyRing`.

    `decrypt` raises `DecryptionError` (never another exception) when a value cannot be read;
    nothing here logs, and no message carries a secret.
    """

    __slots__ = ("_aeads", "_keyring")

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring
        self._aeads: dict[str, AESGCM] = {}
        for kid in keyring.kids:
            key = keyring.key(kid)
            assert key is not None
            self._aeads[kid] = AESGCM(key)

    @property
    def keyring(self) -> KeyRing:
        return self._keyring

    @property
    def primary_kid(self) -> str:
        return self._keyring.primary_kid

    def encrypt(self, plaintext: str, binding: FieldBinding) -> str:
        """Encrypt under the primary key with a fresh random nonce."""
        kid = self._keyring.primary_kid
        header = f"{_VERSION}.{kid}"
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aeads[kid].encrypt(nonce, plaintext.encode(), binding.associated_data(header))
        return f"{header}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, ciphertext: str, binding: FieldBinding) -> str:
        """The plaintext, or `DecryptionError` if the key is unknown or the value not genuine."""
        kid, payload = _split(ciphertext)
        aead = self._aeads.get(kid)
        if aead is None:
            raise DecryptionError(f"key {kid!r} is not configured", kid=kid)
        if len(payload) < _NONCE_BYTES + 16:
            raise DecryptionError("the stored value is truncated", kid=kid)
        try:
            plaintext = aead.decrypt(
                payload[:_NONCE_BYTES],
                payload[_NONCE_BYTES:],
                binding.associated_data(f"{_VERSION}.{kid}"),
            )
        except InvalidTag:
            raise DecryptionError(
                f"the value under key {kid!r} does not belong to this user, provider and field, or was altered",
                kid=kid,
            ) from None
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            raise DecryptionError("the decrypted value is not text", kid=kid) from None

    def reencrypt(self, ciphertext: str, binding: FieldBinding) -> str:
        """The same plaintext encrypted under the primary key; raises `DecryptionError`."""
        return self.encrypt(self.decrypt(ciphertext, binding), binding)

    def key_id_of(self, ciphertext: str) -> str:
        """The kid a value was encrypted under; `DecryptionError` if it is not a ciphertext."""
        return _split(ciphertext)[0]

    def is_current(self, ciphertext: str) -> bool:
        """Whether the value is under the primary key (malformed values are not)."""
        match = _CIPHERTEXT.fullmatch(ciphertext)
        return match is not None and match.group(1) == self._keyring.primary_kid

    def __repr__(self) -> str:
        return f"AesGcmCipher({self._keyring!r})"


def new_key_id(today: date | None = None) -> str:
    """A key id unique to one key: the date it was made and a random suffix (`k20261129-ab12`),
    so a key made again after a loss never takes the lost key's id."""
    return f"k{(today or datetime.now(UTC).date()):%Y%m%d}-{secrets.token_hex(2)}"


def key_id_of(ciphertext: str) -> str | None:
    """The key id in a stored value, or None if it is not in the encrypted format."""
    match = _CIPHERTEXT.fullmatch(ciphertext)
    return match.group(1) if match else None


def load_or_create_key_file(path: Path | str, *, kid: str | None = None, may_create: bool = True) -> KeyRing:
    """The key ring stored at `path`, creating it once with a fresh key (under `kid`, else a new
    unique id), readable by owner only. With `may_create` False a missing file is not made:
    `ConfigurationError` ("restore it or set IDEAFORGE_ENCRYPTION_KEYS") instead.

    The file is written under a temporary name (created with O_CREAT|O_EXCL and mode 0o600)
    and linked into place, so a concurrent process sees either no file or a complete one, and
    exactly one key wins. An existing file that group or others can access is refused
    (`ConfigurationError`), as ssh refuses a readable private key.
    """
    path = Path(path)
    if not path.exists():
        if not may_create:
            raise ConfigurationError(
                f"the encryption key file {path} is missing and stored credentials are encrypted: "
                "restore it or set IDEAFORGE_ENCRYPTION_KEYS"
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_key_file(path, KeyRing.generate_entry(kid or new_key_id()) + "\n")
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the encryption key file {path}: {type(error).__name__}") from None
    if os.name == "posix" and mode & 0o077:
        raise ConfigurationError(f"the encryption key file {path} is accessible to other users: run `chmod 600 {path}`")
    return KeyRing.parse(text, source=f"key file {path}")


def _create_key_file(path: Path, content: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _split(ciphertext: str) -> tuple[str, bytes]:
    match = _CIPHERTEXT.fullmatch(ciphertext)
    if match is None:
        raise DecryptionError("the stored value is not in a recognised encrypted format")
    encoded = match.group(2)
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("the stored value is not in a recognised encrypted format") from None
    return match.group(1), payload


def _decode_key(encoded: str) -> bytes | None:
    for alphabet in (None, b"-_"):
        try:
            return base64.b64decode(encoded, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _check_kid(kid: str, source: str, *, position: int | None) -> None:
    # The rejected text is never echoed: a reversed 'key:kid' entry would put a key here.
    if not _KID.fullmatch(kid):
        where = f"entry {position} has an" if position is not None else "an"
        raise ConfigurationError(f"{source}: {where} invalid key id: use 1-32 letters, digits, '_' or '-'")
