"""Users, stored provider credentials and encryption keys. Heavy imports inside functions."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ideaforge_gateway.entrypoints.cli.commands import fail, print_json, resolve_user, run

if TYPE_CHECKING:
    from ideaforge_gateway.application.use_cases.list_providers import ProviderStatus
    from ideaforge_gateway.entrypoints.container import Container

SECRET_ENV = "IDEAFORGE_PROVIDER_SECRET"


def users_create(name: str, *, as_json: bool) -> None:
    async def work(container: Container) -> tuple[str, str]:
        user, token = container.user_store().create(name)
        return user.name, token.get_secret_value()

    created, token = run(work)
    if as_json:
        print_json({"name": created, "token": token})
        return
    typer.echo(f"Created user {created}. Their API token, shown only this once:", err=True)
    typer.echo(token)


def users_list(*, as_json: bool) -> None:
    async def work(container: Container) -> list[dict[str, object]]:
        return [
            {
                "name": u.name,
                "created_at": u.created_at.isoformat(),
                "revoked_at": u.revoked_at.isoformat() if u.revoked_at else None,
            }
            for u in container.user_store().list()
        ]

    users = run(work)
    if as_json:
        print_json(users)
        return
    for u in users:
        typer.echo(f"{u['name']}\t{'revoked' if u['revoked_at'] else 'active'}\t{u['created_at']}")


def users_revoke(name: str) -> None:
    async def work(container: Container) -> bool:
        return container.user_store().revoke(name)

    if not run(work):
        fail(f"no user named {name!r}")
    typer.echo(f"Revoked {name}: their token no longer works.")


ARGV_WARNING = (
    "warning: --api-key puts the key in the process list (ps, /proc/PID/cmdline) and shell history; "
    "use --api-key-file, $IDEAFORGE_PROVIDER_SECRET, standard input or the prompt instead"
)


def read_secret_file(path: Path) -> str:
    """The secret in `path`, without surrounding whitespace; one line and exit 2 if unreadable or empty."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the secret file {path}: {type(exc).__name__}", code=2)
    if not value:
        fail(f"the secret file {path} is empty", code=2)
    return value


def read_secret(prompt: str, *, from_file: Path | None = None) -> str:
    """The secret from `from_file`, else the environment, else standard input when piped, else a
    hidden prompt."""
    if from_file is not None:
        return read_secret_file(from_file)
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.strip()
    if not sys.stdin.isatty():
        value = sys.stdin.readline().strip()
        if not value:
            fail(f"no secret on standard input (or set {SECRET_ENV})", code=2)
        return value
    value = str(typer.prompt(prompt, hide_input=True)).strip()
    if not value:
        fail("the secret must not be empty", code=2)
    return value


def providers_configure(
    provider: str,
    *,
    user: str,
    client_id: str | None,
    api_key: str | None,
    base_url: str | None,
    api_key_file: Path | None = None,
    default_model: str | None,
    token_url: str | None,
    auth_method: str | None,
    scope: str | None,
    audience: str | None,
    deployment: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None),
    verify: bool,
    as_json: bool,
) -> None:
    """`deployment`: the AI Gateway instance id, environment, region and route template; they
    are checked here, so a bad one is a usage error (exit 2) before anything is read or stored."""
    from pydantic import SecretStr

    from ideaforge_gateway.application.credential_rules import check_user_deployment
    from ideaforge_gateway.application.use_cases.configure_provider import ConfigureRequest
    from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
    from ideaforge_gateway.domain.errors import InvalidRequestError
    from ideaforge_gateway.domain.models import ProviderName

    name = ProviderName(provider)
    instance_id, env, region, route_template = deployment
    try:
        check_user_deployment(name, instance_id, env, region, route_template)
    except InvalidRequestError as exc:
        fail(exc.message, code=2)
    if name is ProviderName.AI_GATEWAY:
        if api_key is not None:
            fail("the AI Gateway takes --client-id (its secret comes from stdin or a prompt), not --api-key", code=2)
        if not client_id:
            fail("the AI Gateway needs --client-id", code=2)
        key, secret = client_id, read_secret("Client secret", from_file=api_key_file)
    else:
        if client_id is not None:
            fail(f"{provider} takes an API key, not --client-id", code=2)
        if api_key is not None and api_key_file is not None:
            fail("give --api-key or --api-key-file, not both", code=2)
        if api_key is not None:
            typer.echo(ARGV_WARNING, err=True)
        key, secret = (api_key or read_secret(f"{provider} API key", from_file=api_key_file)), None
    credentials = ProviderCredentials(
        provider=name,
        api_key=SecretStr(key),
        client_secret=SecretStr(secret) if secret is not None else None,
        base_url=base_url,
        default_model=default_model,
        token_url=token_url,
        auth_method=AuthMethod(auth_method) if auth_method else None,
        scope=scope,
        audience=audience,
        instance_id=instance_id,
        env=env,
        region=region,
        route_template=route_template,
    )

    async def work(container: Container) -> tuple[bool, str | None]:
        user_id = resolve_user(container, user)
        assert user_id is not None
        result = await container.configure_provider().execute(
            ConfigureRequest(user_id=user_id, credentials=credentials, verify_first=verify)
        )
        if result.stored is None:
            return False, result.verification.error if result.verification else "not stored"
        return True, None

    stored, error = run(work)
    if as_json:
        print_json({"stored": stored, "provider": provider, "user": user, "error": error})
        if not stored:
            raise typer.Exit(1)
        return
    if not stored:
        fail(f"not stored, verification failed: {error}")
    typer.echo(f"Stored {provider} credentials for {user}" + (" (verified)" if verify else ""))


def providers_list(*, user: str | None, as_json: bool) -> None:
    async def work(container: Container) -> list[ProviderStatus]:
        return container.list_providers().execute(resolve_user(container, user))

    statuses = run(work)
    if as_json:
        print_json([status_json(s) for s in statuses])
        return
    for s in statuses:
        state = (
            "needs reconfiguration"
            if s.needs_reconfiguration
            else ("usable" if s.usable else ("disabled" if s.configured and not s.enabled else "not configured"))
        )
        verified = "" if s.last_verification_ok is None else (" verified" if s.last_verification_ok else " failed")
        typer.echo(
            f"{s.provider.value}\t{state}\t{s.source or '-'}{verified}" + (f"\t{s.problem}" if s.problem else "")
        )


def status_json(s: ProviderStatus) -> dict[str, object]:
    document = asdict(s)
    document["provider"] = s.provider.value
    document["last_verified_at"] = s.last_verified_at.isoformat() if s.last_verified_at else None
    return document


def providers_remove(provider: str, *, user: str) -> None:
    from ideaforge_gateway.application.use_cases.remove_provider import RemoveRequest
    from ideaforge_gateway.domain.models import ProviderName

    async def work(container: Container) -> bool:
        user_id = resolve_user(container, user)
        assert user_id is not None
        return await container.remove_provider().execute(RemoveRequest(user_id, ProviderName(provider)))

    if not run(work):
        fail(f"{user} has no stored {provider} credentials")
    typer.echo(f"Removed {provider} credentials for {user}")


def providers_enable(provider: str, *, user: str, enabled: bool) -> None:
    from ideaforge_gateway.application.use_cases.remove_provider import EnableRequest
    from ideaforge_gateway.domain.models import ProviderName

    async def work(container: Container) -> bool:
        user_id = resolve_user(container, user)
        assert user_id is not None
        return await container.set_provider_enabled().execute(EnableRequest(user_id, ProviderName(provider), enabled))

    if not run(work):
        fail(f"{user} has no stored {provider} credentials")
    typer.echo(f"{'Enabled' if enabled else 'Disabled'} {provider} for {user}")


def keys_generate(kid: str | None) -> None:
    from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing, new_key_id
    from ideaforge_gateway.domain.errors import ConfigurationError

    try:
        entry = KeyRing.generate_entry(kid or new_key_id())
    except ConfigurationError as exc:
        fail(exc.message, code=2)
    typer.echo(entry)


def keys_rotate(*, as_json: bool) -> None:
    from rich.progress import Progress

    from ideaforge_gateway.adapters.sql.key_rotation import RotationReport, rotate_keys

    async def work(container: Container) -> RotationReport:
        with Progress(transient=True, disable=as_json or not sys.stderr.isatty()) as bar:
            task = bar.add_task("re-encrypting", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return rotate_keys(container.engine(), container.cipher(), progress)

    report = run(work)
    if as_json:
        print_json(
            {
                "primary_kid": report.primary_kid,
                "rows_scanned": report.rows_scanned,
                "rows_reencrypted": report.rows_reencrypted,
                "unreadable": [
                    {"user_id": u.user_id, "provider": u.provider, "reason": u.reason} for u in report.unreadable
                ],
            }
        )
    else:
        done, seen, kid = report.rows_reencrypted, report.rows_scanned, report.primary_kid
        typer.echo(f"Re-encrypted {done} of {seen} credentials under key {kid!r}")
        for row in report.unreadable:
            typer.echo(f"warning: {row.provider} for user {row.user_id}: {row.reason}", err=True)
    if report.unreadable:
        raise typer.Exit(1)
