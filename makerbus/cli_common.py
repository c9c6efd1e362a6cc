"""Small helpers the CLI commands share."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from broker.dynsec import DynsecError
from core.errors import DomainError

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning expected failures into a clean message."""
    try:
        return asyncio.run(coro)
    except (DomainError, ValueError, DynsecError) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot reach a service: {error}") from None


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
