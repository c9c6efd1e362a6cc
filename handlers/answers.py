"""Wire answers from core results: the one adapter between a core read model and the contract.

A wire model takes the fields it names from the result (attributes and properties alike), times
as RFC 3339 strings; nested results are read off their attributes too. Validation is lax, unlike
requests: the result is typed already, and holds tuples where the wire has lists. A field the
result lacks and no `extra` gives stays unset, and so is left out of the answer (`encode_ok`).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from core.clock import rfc3339

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

M = TypeVar("M", bound=BaseModel)


def _wire(value: object) -> object:
    return rfc3339(value) if isinstance(value, datetime) else value


def answer(model: type[M], result: object, **extra: object) -> M:
    """`model` filled from `result`'s like-named attributes, then from `extra`."""
    values = {name: getattr(result, name) for name in model.model_fields if hasattr(result, name)}
    wired = {name: _wire(value) for name, value in (values | extra).items()}
    return model.model_validate(wired, from_attributes=True, strict=False)


def wire_fields(result: DataclassInstance) -> dict[str, object]:
    """All of a core result's fields as the wire carries them (a `Decline`'s extra fields)."""
    return {field.name: _wire(getattr(result, field.name)) for field in fields(result)}
