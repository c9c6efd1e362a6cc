"""What the CLI commands share: running one command's work in the database (and at the
broker), failures as one clear line, the text option types, naming a member."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import aiomqtt
import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from broker.dynsec import DynsecError
from broker.provisioning import DeviceBroker, open_device_broker
from core import cards, members
from core.audit import Actor
from core.cards import normalize_uid
from core.errors import DomainError
from core.settings import get_settings
from core.text import check_lines, check_one_line
from makerbus.context import database

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Who the audit trail, the ledger, the stock movements and the grants record for a change
# made here.
ACTOR = Actor.person("cli")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning expected failures into a clean message."""
    try:
        return asyncio.run(coro)
    except (DomainError, ValueError, DynsecError) as error:
        raise click.ClickException(str(error)) from None
    except aiomqtt.MqttError as error:
        raise click.ClickException(f"cannot reach the broker: {error}") from None
    except TimeoutError:
        raise click.ClickException("the broker did not answer in time") from None
    except OperationalError as error:
        raise click.ClickException(f"cannot reach the database: {error.orig}") from None


def in_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction of the configured database, committed when it returns
    (so a command prints only what was kept); an expected failure is one clear line."""
    settings = get_settings()

    async def go() -> T:
        async with database(settings) as db:
            return await work(db)

    return run(go())


def with_broker(work: Callable[[AsyncSession, DeviceBroker], Awaitable[T]]) -> T:
    """`in_database`, with the broker's admin connection for the transaction's length (device
    accounts change together with the device registry)."""
    settings = get_settings()

    async def at_broker(db: AsyncSession) -> T:
        async with open_device_broker(settings, db) as broker:
            return await work(db, broker)

    return in_database(at_broker)


class _PlainText(click.ParamType[str]):
    """Text a person reads, by the rule of `core.text` that the web API and the MQTT contract
    follow too: no control or invisible formatting characters (tabs and line breaks only where
    `lines`)."""

    name = "text"

    def __init__(self, *, lines: bool) -> None:
        self._check = check_lines if lines else check_one_line

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return self._check(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


TEXT_LINE = _PlainText(lines=False)
TEXT_LINES = _PlainText(lines=True)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def member_choice(command: F) -> F:
    """`--card UID` or `--member ID`: the member a command is about (check with `one_member`)."""
    command = click.option(
        "--member", "member_id", type=click.IntRange(min=1), help="The member's id."
    )(command)
    return click.option("--card", "card_uid", help="The member's card UID.")(command)


def one_member(card_uid: str | None, member_id: int | None) -> None:
    if (card_uid is None) == (member_id is None):
        raise click.UsageError("name the member with exactly one of --card and --member")


async def chosen_member(db: AsyncSession, card_uid: str | None, member_id: int | None) -> int:
    """The id of the member `member_choice` named; UnknownCard, NotFound or ValueError."""
    if member_id is None:
        return await cards.member_of(db, normalize_uid(card_uid or ""))
    return await members.existing(db, member_id)
