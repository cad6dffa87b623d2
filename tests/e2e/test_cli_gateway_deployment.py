"""`ideaforge` with AI Gateway instance ids: the operator's settings and a user's own, in a
subprocess as an operator runs it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_gateway_hosts import FakeGatewayHosts

SECRET = "svc-secret-canary"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=SECRET) as server:
        yield server


@pytest.fixture
def hosts(gateway: FakeAIGateway) -> Iterator[FakeGatewayHosts]:
    with FakeGatewayHosts(gateway, instances=("inst-1", "inst-2")) as server:
        yield server


def environment(gateway: FakeAIGateway, hosts: FakeGatewayHosts, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": SECRET,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "AI_GATEWAY_INSTANCE_ID": "inst-1",
        "AI_GATEWAY_ROUTE_TEMPLATE": hosts.template,
        "AI_GATEWAY_CATALOG_URL": catalog_on(hosts),
        "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def catalog_on(hosts: FakeGatewayHosts) -> str:
    """A catalog URL on this machine (the operator's and users' instances read one in the
    background; the derived default is not on loopback). It answers 404: no catalog."""
    return hosts.url + "/catalog/{region.}{env}/v1/catalog/models"


def one_error_line(result: CliResult, code: int, starts: str) -> None:
    assert result.code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(starts), result.stderr
    assert "Traceback" not in result.output and SECRET not in result.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AI_GATEWAY_ROUTE_TEMPLATE", "https://{family}.{tenant}.example.com"),
        ("AI_GATEWAY_INSTANCE_ID", "a/b"),
        ("AI_GATEWAY_REGION", "eu.evil.com"),
    ],
)
def test_a_bad_deployment_setting_is_one_line_and_exit_2(
    gateway: FakeAIGateway, hosts: FakeGatewayHosts, tmp_path: Path, variable: str, value: str
) -> None:
    env = environment(gateway, hosts, tmp_path, **{variable: value})
    one_error_line(run_cli("models", env=env, cwd=tmp_path), 2, f"error: invalid configuration: {variable}: ")


def test_the_operators_instance_answers_generate(
    gateway: FakeAIGateway, hosts: FakeGatewayHosts, tmp_path: Path
) -> None:
    env = environment(gateway, hosts, tmp_path)
    result = run_cli("generate", "hi", "--model", "claude-sonnet-4-5-20250929", "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["content"] == "echo: hi"
    assert [(hit.family, hit.instance_id) for hit in hosts.hits] == [("anthropic", "inst-1")]


def test_a_users_instance_from_the_command_line(
    gateway: FakeAIGateway, hosts: FakeGatewayHosts, tmp_path: Path
) -> None:
    env = environment(gateway, hosts, tmp_path)

    def cli(*args: str, stdin: str | None = None) -> CliResult:
        return run_cli(*args, env=env, cwd=tmp_path, stdin=stdin)

    assert cli("users", "create", "alice").code == 0
    configure = ("providers", "configure", "ai_gateway", "--user", "alice", "--client-id", gateway.state.client_id)
    one_error_line(cli(*configure, "--instance-id", "a/b", stdin=SECRET), 2, "error: ai_gateway: the instance id")
    one_error_line(cli(*configure, "--region", "eu", stdin=SECRET), 2, "error: ai_gateway: the region applies only")
    stored = cli(*configure, "--instance-id", "inst-2", "--region", "eu", "--env", "dev", stdin=SECRET + "\n")
    assert stored.code == 0, stored.output
    listed = json.loads(cli("providers", "list", "--user", "alice", "--json").stdout)
    mine = next(p for p in listed if p["provider"] == "ai_gateway")
    assert (mine["instance_id"], mine["env"], mine["region"]) == ("inst-2", "dev", "eu")
    answer = cli("generate", "hello", "--user", "alice", "--model", "azure/gpt-4o", "--json")
    assert answer.code == 0, answer.output
    assert json.loads(answer.stdout)["model"] == "gpt-4o-2024-08-06"
    assert [(hit.family, hit.instance_id, hit.where) for hit in hosts.hits] == [("azure", "inst-2", "eu.dev")]


def readme_setups() -> list[dict[str, str]]:
    """The two setups of README's "Connecting to the AI Gateway", as environments."""
    section = README.read_text().split("\n## Connecting to the AI Gateway\n", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)[0]
    setups: list[dict[str, str]] = []
    for line in block.splitlines():
        if re.match(r"^# \d\. ", line):
            setups.append({})
        elif (assignment := re.match(r"^([A-Z_]+)=(\S+)", line)) is not None:
            setups[-1][assignment.group(1)] = assignment.group(2)
    return setups


@pytest.mark.parametrize("number", [1, 2])
def test_the_readmes_two_setups_from_an_instance_id_alone(
    gateway: FakeAIGateway, hosts: FakeGatewayHosts, tmp_path: Path, number: int
) -> None:
    setup = readme_setups()[number - 1]
    assert setup.pop("AI_GATEWAY_INSTANCE_ID") and setup["AI_GATEWAY_CLIENT_ID"] == "..."
    gateway.state.accept_static_key = True
    env = {
        **setup,
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": SECRET,
        "AI_GATEWAY_INSTANCE_ID": "inst-1",
        # Only the hosts move to this machine: the template is the one thing README leaves out.
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ROUTE_TEMPLATE": hosts.template,
        "AI_GATEWAY_CATALOG_URL": catalog_on(hosts),
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
    }
    result = run_cli("generate", "hi", "--model", "azure/gpt-4o", "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["content"] == "echo: hi"
    [hit] = hosts.hits
    assert (hit.family, hit.instance_id) == ("azure", "inst-1")
    if number == 1:
        assert gateway.state.token_requests == 1 and hit.header == "Authorization"
    else:
        assert gateway.state.token_requests == 0 and hit.header == "api-key"
        assert hit.credential == f"{gateway.state.client_id}:{SECRET}"
