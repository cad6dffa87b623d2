"""The real container, configured for tests: environment settings without the process's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import providers

from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.settings import Settings


def container_for(tmp_path: Path, **settings: Any) -> Container:
    """A container whose settings are exactly `settings` (plus a private data dir)."""
    values = {"ideaforge_data_dir": tmp_path / "data", **settings}
    container = Container()
    container.settings.override(providers.Object(Settings(_env_file=None, **values)))
    return container
