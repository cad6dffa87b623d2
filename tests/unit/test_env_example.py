"""`.env.example` is a working `.env`: every variable it shows, uncommented, is one Settings reads."""

from __future__ import annotations

import re
from pathlib import Path

from ideaforge_gateway.entrypoints.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
ASSIGNMENT = re.compile(r"^# ([A-Z][A-Z0-9_]+)=(.*)$")


def test_every_example_line_uncommented_is_a_valid_setting(tmp_path: Path) -> None:
    lines = [m for m in map(ASSIGNMENT.match, EXAMPLE.read_text().splitlines()) if m]
    assert len(lines) > 10
    names = [m.group(1) for m in lines]
    assert set(names) <= {name.upper() for name in Settings.model_fields} | {"GOOGLE_API_KEY"}
    env = tmp_path / ".env"
    env.write_text("\n".join(f"{m.group(1)}={m.group(2)}" for m in lines) + "\n")
    settings = Settings(_env_file=env)
    assert settings.ai_gateway_enabled is True
    assert settings.ai_gateway_token_url is None  # an empty value with a comment is unset
    assert settings.ideaforge_database_url is not None
    assert settings.ideaforge_database_url.startswith("postgresql+psycopg://")
