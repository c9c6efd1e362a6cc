"""Small helpers the CLI commands share."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiomqtt
import click
from sqlalchemy.exc import OperationalError

from broker.dynsec import DynsecError
from core.errors import DomainError

T = TypeVar("T")


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


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
