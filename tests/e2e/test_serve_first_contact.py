"""`ideaforge serve` as a new operator starts it: one line says where it is and what it uses,
`/` leads somewhere, and the docs need nothing from the internet."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.serve_process import ServeProcess

READY = "IdeaForge gateway ready at "


def ready_line(server: ServeProcess) -> str:
    lines = server.wait_for(lambda lines: any(READY in x for x in lines), "start-up line")
    return next(x for x in lines if READY in x)


def test_serve_logs_one_line_with_its_urls_database_and_providers(tmp_path: Path) -> None:
    env = {
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY": "sk-startup-canary",
        "AI_GATEWAY_CLIENT_ID": "svc",
        "AI_GATEWAY_CLIENT_SECRET": "svc-secret-canary",
    }
    with ServeProcess(env=env, cwd=tmp_path) as server:  # the default log level
        line = ready_line(server)
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # ready means ready
        lines = list(server.lines)
    url = server.url
    urls = f"ready at {url} · Settings page {url}/settings · API docs {url}/docs · OpenAI-compatible API {url}/v1"
    assert urls in line
    assert f"database: SQLite at {tmp_path / 'data' / 'ideaforge.db'}" in line
    assert "providers from the environment: openai; " in line
    assert "AI_GATEWAY_ENABLED is not true" in line
    assert "canary" not in "\n".join(lines)
    assert [x for x in lines if READY in x] == [line]  # one line, once


def test_serve_without_providers_says_users_bring_their_own(tmp_path: Path) -> None:
    with ServeProcess(env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path) as server:
        line = ready_line(server)
    assert line.endswith("providers from the environment: none (each user adds their own on the Settings page)")


def test_log_level_error_hides_the_start_up_line(tmp_path: Path) -> None:
    env = {"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}
    with ServeProcess(env=env, cwd=tmp_path, log_level="error") as server:
        server.wait_for(lambda _: _healthy(server.url), "health")
        assert not any(READY in x for x in server.lines)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_root_leads_to_the_settings_page_and_the_docs_assets_are_served_here(tmp_path: Path) -> None:
    with ServeProcess(env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path) as server:
        ready_line(server)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            root = client.get("/")
            assert root.status_code == 307 and root.headers["location"] == "/settings"
            assert "/docs" in client.get("/settings").text  # the Settings page links the docs
            docs = client.get("/docs").text
            assert "cdn." not in docs and "https://" not in docs
            assert '"/docs/assets/swagger-ui-bundle.js"' in docs and '"/docs/assets/swagger-ui.css"' in docs
            assert client.get("/redoc").status_code == 404  # ReDoc would fetch its logo from a CDN
            script = client.get("/docs/assets/swagger-ui-bundle.js")
            assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
            assert "SwaggerUIBundle" in script.text
            assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
            assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
            assert client.get("/openapi.json").json()["info"]["title"] == "IdeaForge provider gateway"


def test_a_port_in_use_is_one_line_and_exit_1_never_a_ready_line(tmp_path: Path) -> None:
    import socket

    from tests.support.cli import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--port", str(port), env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert done.code == 1, done.output
    assert "ready at" not in done.stderr
    expected = f"error: 127.0.0.1:{port} is already in use: stop what listens there, or choose another port with --port"
    assert done.stderr.strip() == expected
