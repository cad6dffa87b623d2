"""Agno's telemetry stays off unless the operator turns it on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ideaforge_gateway.entrypoints.container import close
from tests.support.app import container_for


async def test_off_by_default_for_our_agents_and_the_users_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGNO_TELEMETRY", raising=False)
    app = container_for(tmp_path)
    try:
        assert app.agent_runner().telemetry is False
        assert os.environ.get("AGNO_TELEMETRY") == "false"  # Agno reads it for agents built elsewhere
    finally:
        await close(app)


async def test_the_operator_turns_it_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGNO_TELEMETRY", raising=False)
    app = container_for(tmp_path, ideaforge_agno_telemetry=True)
    try:
        assert app.agent_runner().telemetry is True
        assert "AGNO_TELEMETRY" not in os.environ
    finally:
        await close(app)


async def test_an_explicit_agno_setting_stands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNO_TELEMETRY", "true")
    app = container_for(tmp_path)
    try:
        app.agent_runner()
        assert os.environ["AGNO_TELEMETRY"] == "true"
    finally:
        await close(app)
