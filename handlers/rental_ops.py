"""The rental operations (filled in with issue 4)."""

from __future__ import annotations

from handlers.context import OpHandler

HANDLERS: dict[str, OpHandler] = {}
