"""What may leave the server about a payload: short, printable summaries of declared fields.

An allowlist: a summary holds only fields the op's (or command's) model declares, never a
secret (a PIN, a password, a token, a URL that carries a login token), and card UIDs only as
their last four characters. Values from devices are untrusted: whatever their type, they come
out as a bounded, printable scalar or not at all, and nothing here raises.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from broker.contract import COMMANDS, OPS
from core.formats import CARD_UID_PATTERN

Value = str | int | bool | None
Field = tuple[str, Value]

MAX_TEXT = 40
ELLIPSIS = "…"
CARD_VISIBLE = 4
# Substrings of field names that are never shown, whatever the model says.
SECRET_NAME_PARTS = ("pin", "password", "token", "secret", "url")
# The envelope is shown as the row's id and result, not as fields.
ENVELOPE_KEYS = frozenset({"id", "ok", "error", "message"})


def printable(text: str, limit: int = MAX_TEXT) -> str:
    """`text` without non-printable characters, at most `limit` long (cut ones end in "…")."""
    # Reads at most limit + 1 printable characters, so a huge string costs no more than a short one.
    kept = "".join(islice((ch for ch in text if ch.isprintable()), limit + 1))
    return kept if len(kept) <= limit else kept[: limit - 1] + ELLIPSIS


def mask_card(uid: str) -> str:
    """A card UID as "…" and its last four characters; a shorter one shows nothing."""
    text = "".join(ch for ch in uid if ch.isprintable())
    return ELLIPSIS + (text[-CARD_VISIBLE:].upper() if len(text) > CARD_VISIBLE else "")


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


@dataclass(frozen=True)
class _Rule:
    """How one declared field is summarized."""

    card: bool
    nested: type[BaseModel] | None


def _is_card_schema(schema: Mapping[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", ())]
    return any(option.get("pattern") == CARD_UID_PATTERN for option in options)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field typed `Model` or `Model | None`; None for anything else."""
    union = get_origin(annotation) in (Union, types.UnionType)
    options = get_args(annotation) if union else (annotation,)
    models = [arg for arg in options if isinstance(arg, type) and issubclass(arg, BaseModel)]
    return models[0] if len(models) == 1 else None


@cache
def _rules(model: type[BaseModel]) -> dict[str, _Rule]:
    """The declared, non-secret fields of a model, in declaration order."""
    properties = model.model_json_schema().get("properties", {})
    return {
        name: _Rule(
            card=_is_card_schema(properties.get(name, {})),
            nested=_nested_model(info.annotation),
        )
        for name, info in model.model_fields.items()
        if name not in ENVELOPE_KEYS and not is_secret_name(name)
    }


def _scalar(value: Any) -> Value:
    if value is None or isinstance(value, bool | int):
        return value
    return printable(value if isinstance(value, str) else str(value))


def _fields(
    model: type[BaseModel], data: Mapping[str, Any], *, prefix: str = "", flatten: bool = True
) -> Iterator[Field]:
    for name, rule in _rules(model).items():
        if name not in data:
            continue
        value = data[name]
        label = prefix + name
        if rule.card:
            yield label, None if value is None else mask_card(str(value))
        elif isinstance(value, list):
            yield label, len(value)
        elif isinstance(value, dict):
            if flatten and rule.nested is not None:
                yield from _fields(rule.nested, value, prefix=f"{label}.", flatten=False)
        else:
            yield label, _scalar(value)


def _summary(model: type[BaseModel], data: Mapping[str, Any]) -> list[Field]:
    return list(_fields(model, data))


def request_summary(op: str, fields: Mapping[str, Any]) -> list[Field]:
    """The request fields the op's model declares, redacted; [] for an unknown op."""
    spec = OPS.get(op)
    return _summary(spec.request, fields) if spec else []


def answer_summary(op: str, body: Mapping[str, Any]) -> list[Field]:
    """The answer fields the op's model declares, redacted; [] for an unknown op.

    An op whose answer is not remembered carries a secret in it (the card/link URL): of its
    answer only numbers, booleans and nulls are shown, in case a secret has another name.
    """
    spec = OPS.get(op)
    if spec is None:
        return []
    summary = _summary(spec.answer, body)
    if spec.remember_answer:
        return summary
    return [(name, value) for name, value in summary if not isinstance(value, str)]


def command_summary(name: str, body: Mapping[str, Any]) -> list[Field]:
    """The command fields its model declares, redacted; [] for an unknown command."""
    spec = COMMANDS.get(name)
    return _summary(spec.payload, body) if spec else []


def status_summary(body: Mapping[str, Any]) -> list[Field]:
    """A device's status (`{"online": true, "fw": "1.4.0"}`): its two known fields only."""
    return [(name, _scalar(body[name])) for name in ("online", "fw") if name in body]
