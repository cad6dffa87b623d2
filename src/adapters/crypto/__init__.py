"""Encryption at rest: AES-256-GCM values bound to their row and field, under a ring of keys."""

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import (
    AesGcmCipher,
    DecryptionError,
    FieldBinding,
    KeyRing,
    load_or_create_key_file,
)

__all__ = ["AesGcmCipher", "DecryptionError", "FieldBinding", "KeyRing", "load_or_create_key_file"]
