"""The CLI starts without Agno: `import agno.agent` costs about 0.3 s and 45 MB."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
sys.argv = ["ideaforge", "--help"]
from ideaforge_gateway.entrypoints.cli.app import main
import ideaforge_gateway.entrypoints.container
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m == "agno" or m.startswith("agno."))
print("AGNO:", loaded[:3])
"""


def test_help_and_the_container_do_not_import_agno() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "AGNO: []" in done.stdout


_TELEMETRY_PROBE = """
import sys
sys.argv = ["ideaforge", "--help"]
from ideaforge_gateway.entrypoints.cli.app import main
from ideaforge_gateway.entrypoints.container import Container
try:
    main()
except SystemExit:
    pass
Container().fallback_chain  # declared, not built
heavy = ("opentelemetry.sdk", "opentelemetry.exporter", "prometheus_client")
print("HEAVY:", sorted(m for m in sys.modules if m.startswith(heavy))[:3])
"""


def test_help_imports_neither_opentelemetry_sdk_nor_prometheus_client() -> None:
    """Start-up does not grow with observability: the SDKs load only when metrics or traces are on
    (OpenTelemetry's API is FastAPI's own dependency)."""
    done = subprocess.run(
        [sys.executable, "-c", _TELEMETRY_PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY: []" in done.stdout
