"""`ideaforge`: the operator's command line."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer

from entrypoints.cli import commands

app = typer.Typer(
    name="ideaforge",
    help="IdeaForge provider gateway: AI Gateway first, OpenAI, Gemini and Claude behind it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
providers_app = typer.Typer(help="Verify, configure, list and remove provider credentials.", no_args_is_help=True)
app.add_typer(providers_app, name="providers")


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.callback()
def _root(
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", envvar="IDEAFORGE_LOG_LEVEL", help="Log level on stderr.")
    ] = LogLevel.warning,
) -> None:
    logging.basicConfig(level=log_level.value.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


class ProviderChoice(StrEnum):
    ai_gateway = "ai_gateway"
    openai = "openai"
    anthropic = "anthropic"
    gemini = "gemini"


class TierChoice(StrEnum):
    fast = "fast"
    standard = "standard"
    premium = "premium"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Use this user's stored credentials.")]


@providers_app.command("verify")
def providers_verify(provider: ProviderChoice, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Obtain a token, then list models: OK and the model count, or why not."""
    commands.verify(provider.value, user=user, as_json=as_json)


@app.command("models")
def models(
    provider: Annotated[ProviderChoice | None, typer.Option("--provider", help="Only this provider.")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the models a provider (or every usable provider) offers."""
    commands.models(provider.value if provider else None, user=user, as_json=as_json)


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


def main() -> None:
    app()
