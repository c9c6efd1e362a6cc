"""`makerbus token create|list|revoke`: API tokens for scripts and operators."""

from __future__ import annotations

import click

from core import api_tokens
from core.clock import SystemClock
from core.models import API_TOKEN_ROLES
from makerbus.cli_common import ACTOR, TEXT_LINE, echo_json, in_database


@click.group()
def token() -> None:
    """Manage API tokens (sent as `Authorization: Bearer mbt_…`)."""


@token.command()
@click.option("--name", required=True, type=TEXT_LINE, help="Who or what uses it, e.g. ci.")
@click.option("--role", type=click.Choice(API_TOKEN_ROLES), required=True)
@click.option("--json", "as_json", is_flag=True)
def create(name: str, role: str, as_json: bool) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    info, secret = in_database(
        lambda db: api_tokens.create(db, name=name, role=role, now=SystemClock().now(), actor=ACTOR)
    )
    if as_json:
        echo_json({"name": info.name, "role": info.role, "token": secret})
        return
    click.echo(f"API token {info.name!r} ({info.role}); shown once, store it now:")
    click.echo(secret)


@token.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_tokens(as_json: bool) -> None:
    """Every token by name, with its role, last use and whether it was revoked (never the token)."""
    rows = [
        {
            "name": info.name,
            "role": info.role,
            "created_at": info.created_at.isoformat(),
            "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None,
            "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        }
        for info in in_database(api_tokens.listing)
    ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "live"
        click.echo(f"{row['name']}\t{row['role']}\t{state}\tlast used {row['last_used_at'] or '-'}")


@token.command()
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    in_database(lambda db: api_tokens.revoke(db, name, now=SystemClock().now(), actor=ACTOR))
    click.echo(f"revoked {name}")
