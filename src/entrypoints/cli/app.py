"""`ideaforge`: the operator's command line."""

from __future__ import annotations

import gc
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ideaforge_gateway.entrypoints.cli import commands
from ideaforge_gateway.entrypoints.cli import credentials_commands as creds

app = typer.Typer(
    name="ideaforge",
    help="IdeaForge provider gateway: AI Gateway first, OpenAI, Gemini and Claude behind it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
providers_app = typer.Typer(help="Verify, configure, list and remove provider credentials.", no_args_is_help=True)
app.add_typer(providers_app, name="providers")
users_app = typer.Typer(help="Create, list and revoke the gateway's users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
keys_app = typer.Typer(help="Encryption keys for stored credentials.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    plain = "plain"
    json = "json"


@app.callback()
def _root(
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", envvar="IDEAFORGE_LOG_LEVEL", help="Log level on stderr.")
    ] = LogLevel.warning,
    log_format: Annotated[
        LogFormat,
        typer.Option("--log-format", envvar="IDEAFORGE_LOG_FORMAT", help="Log lines as plain text or JSON objects."),
    ] = LogFormat.plain,
) -> None:
    if log_format is LogFormat.plain:  # as before: no import beyond `logging` on the CLI's path
        logging.basicConfig(
            level=log_level.value.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
        return
    from ideaforge_gateway.adapters.observability.log_format import configure_logging

    configure_logging(log_level.value, log_format.value)


class ProviderChoice(StrEnum):
    ai_gateway = "ai_gateway"
    openai = "openai"
    anthropic = "anthropic"
    gemini = "gemini"


class TierChoice(StrEnum):
    fast = "fast"
    standard = "standard"
    premium = "premium"


class AuthMethodChoice(StrEnum):
    client_secret_basic = "client_secret_basic"
    client_secret_post = "client_secret_post"
    static_key = "static_key"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Use this user's stored credentials.")]


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP API, the OpenAI-compatible /v1 and the Settings page."""
    commands.serve(host=host, port=port, workers=workers)


@providers_app.command("verify")
def providers_verify(provider: ProviderChoice, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Obtain a token, then list models: OK and the model count, or why not."""
    commands.verify(provider.value, user=user, as_json=as_json)


@app.command("models")
def models(
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="Only this provider: ai_gateway, openai, gemini or anthropic; with --catalog, "
            "the catalog's provider name (openai, anthropic, google-gemini, ...).",
        ),
    ] = None,
    user: UserOpt = None,
    catalog: Annotated[
        bool,
        typer.Option(
            "--catalog",
            help="The AI Gateway instance's catalog: prices and classification (with --user, that user's own "
            "instance's when their credentials name one).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the models a provider (or every usable provider) offers, or the AI Gateway's catalog."""
    from ideaforge_gateway.entrypoints.cli import models_commands

    if catalog:
        models_commands.catalog_models(provider, user=user, as_json=as_json)
        return
    if provider is not None and provider not in {p.value for p in ProviderChoice}:
        choices = ", ".join(p.value for p in ProviderChoice)
        commands.fail(f"--provider must be one of {choices} (without --catalog), not {provider!r}", code=2)
    models_commands.models(provider, user=user, as_json=as_json)


@app.command("generate")
def generate(
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    tier: Annotated[TierChoice | None, typer.Option("--tier", help="fast, standard or premium.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="A model id; overrides the tier.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="A system prompt.")] = None,
    user: UserOpt = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print the answer as it arrives.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer PROMPT with the first usable provider."""
    commands.generate(
        prompt,
        tier=tier.value if tier else None,
        model=model,
        system=system,
        user=user,
        stream=stream,
        as_json=as_json,
    )


@providers_app.command("health")
def providers_health(
    url: Annotated[
        str, typer.Option("--url", envvar="IDEAFORGE_URL", help="The running gateway's address.")
    ] = "http://127.0.0.1:8000",
    as_json: JsonOpt = False,
) -> None:
    """Each provider's circuit, last failure and next retry, from a running gateway (needs
    IDEAFORGE_OPERATOR_TOKEN, the same as the server's)."""
    commands.providers_health(url, as_json=as_json)


@providers_app.command("configure")
def providers_configure(
    provider: ProviderChoice,
    user: Annotated[str, typer.Option("--user", help="Whose credentials these are.")],
    client_id: Annotated[str | None, typer.Option("--client-id", help="AI Gateway service-account id.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Vendor API key. Visible in the process list: prefer --api-key-file, stdin or the prompt.",
        ),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option("--api-key-file", help="Read the vendor API key (or AI Gateway client secret) from this file."),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Override the default base URL.")] = None,
    default_model: Annotated[str | None, typer.Option("--default-model", help="This user's default model.")] = None,
    token_url: Annotated[str | None, typer.Option("--token-url", help="AI Gateway token endpoint.")] = None,
    auth_method: Annotated[
        AuthMethodChoice | None, typer.Option("--auth-method", help="AI Gateway auth method.")
    ] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="OAuth2 scope for the token request.")] = None,
    audience: Annotated[str | None, typer.Option("--audience", help="OAuth2 audience.")] = None,
    instance_id: Annotated[
        str | None, typer.Option("--instance-id", help="AI Gateway instance: derives every model family's route.")
    ] = None,
    env: Annotated[str | None, typer.Option("--env", help="AI Gateway environment (default prod).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AI Gateway region (us, eu), if any.")] = None,
    route_template: Annotated[
        str | None, typer.Option("--route-template", help="Where an instance's routes live (default: the server's).")
    ] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Store only if verification succeeds.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store a user's credentials. The secret comes from $IDEAFORGE_PROVIDER_SECRET, stdin or a prompt."""
    creds.providers_configure(
        provider.value,
        user=user,
        client_id=client_id,
        api_key=api_key,
        api_key_file=api_key_file,
        base_url=base_url,
        default_model=default_model,
        token_url=token_url,
        auth_method=auth_method.value if auth_method else None,
        scope=scope,
        audience=audience,
        deployment=(instance_id, env, region, route_template),
        verify=verify,
        as_json=as_json,
    )


@providers_app.command("list")
def providers_list(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Each provider's status for a user (or the environment): never a secret."""
    creds.providers_list(user=user, as_json=as_json)


RequiredUser = Annotated[str, typer.Option("--user", help="Whose credentials.")]


@providers_app.command("remove")
def providers_remove(provider: ProviderChoice, user: RequiredUser) -> None:
    """Delete a user's stored credentials for a provider."""
    creds.providers_remove(provider.value, user=user)


@providers_app.command("disable")
def providers_disable(provider: ProviderChoice, user: RequiredUser) -> None:
    """Stop using a provider for a user, keeping its credentials."""
    creds.providers_enable(provider.value, user=user, enabled=False)


@providers_app.command("enable")
def providers_enable(provider: ProviderChoice, user: RequiredUser) -> None:
    """Use a disabled provider again."""
    creds.providers_enable(provider.value, user=user, enabled=True)


@users_app.command("create")
def users_create(name: str, as_json: JsonOpt = False) -> None:
    """Create a user and print their API token, once."""
    creds.users_create(name, as_json=as_json)


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List users (never their tokens)."""
    creds.users_list(as_json=as_json)


@users_app.command("revoke")
def users_revoke(name: str) -> None:
    """Revoke a user: their token stops working."""
    creds.users_revoke(name)


@keys_app.command("generate")
def keys_generate(kid: Annotated[str | None, typer.Option("--kid", help="The key id.")] = None) -> None:
    """Print a new `kid:KEY` entry for IDEAFORGE_ENCRYPTION_KEYS (put it first to encrypt with it)."""
    creds.keys_generate(kid)


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOpt = False) -> None:
    """Re-encrypt every stored credential under the first key; safe to re-run after a crash."""
    creds.keys_rotate(as_json=as_json)


def main() -> None:
    """Run the CLI; a usage error is one `error:` line and exit 2, as for every other failure."""
    # Start-up imports make ~100,000 objects and next to no garbage: collecting while they load
    # costs ~10 % of the start. `commands.run` turns the collector back on before any work, and
    # `serve`'s app after it is up (`entrypoints.http.app._tune_gc`).
    gc.disable()
    from typer.exceptions import TyperException

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    except TyperException as exc:  # click's usage errors, as typer ships them
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())  # the help text, as `--help` gives it
        else:
            message = " ".join(exc.format_message().split())
            typer.echo(f"error: {message} (see --help)", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
