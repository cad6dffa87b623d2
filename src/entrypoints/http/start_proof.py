"""How `ideaforge serve` knows that what answers its port is the server it started.

`serve` makes a random key for each start (`new_start_key`: 32 random bytes, hex) and hands it
to its workers in the environment (`START_KEY_VARIABLE`; never in argv, a log or a response);
each worker takes it out of its environment when it builds the app. The announcer asks
`/healthz` with a new random challenge in `CHALLENGE_HEADER`; a worker that holds the key
answers with `PROOF_HEADER: hex(HMAC-SHA256(key, challenge))`. Any other process on the port
cannot make the proof, so its answer is never announced as ready. A caller learns only an HMAC
of its own challenge under a key that lives for one start: nothing about the process, nothing
it can use elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

START_KEY_VARIABLE = "IDEAFORGE_SERVE_START_KEY"
CHALLENGE_HEADER = "X-IdeaForge-Start-Challenge"
PROOF_HEADER = "X-IdeaForge-Start-Proof"
MAX_CHALLENGE_LENGTH = 128
"""Longer challenges get no proof (the announcer sends 32 hex characters)."""


def new_start_key() -> str:
    return secrets.token_hex(32)


def new_challenge() -> str:
    return secrets.token_hex(16)


def proof(key: str, challenge: str) -> str:
    """hex(HMAC-SHA256(key, challenge)), 64 characters."""
    return hmac.new(key.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def proves(key: str, challenge: str, answer: str | None) -> bool:
    """Whether `answer` is the proof for `challenge` under `key` (compared in constant time)."""
    return answer is not None and hmac.compare_digest(answer.encode(), proof(key, challenge).encode())
