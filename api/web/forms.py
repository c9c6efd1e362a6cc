"""Forms: what a browser posts, checked on the server with the same pydantic models as the
JSON API, and the errors put next to their fields in the page's language.

Money is typed in euros the way the person writes it (`12,50` in German, `12.50` in
English) and reaches the models in cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation
from typing import Any, TypeVar

from babel.numbers import NumberFormatError, parse_decimal
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from api.web.i18n import Formats
from api.web.render import gettext_for

M = TypeVar("M", bound=BaseModel)
FieldErrors = dict[str, str]


class AmountError(ValueError):
    pass


def cents_from(text: str, formats: Formats) -> int:
    """`"12,50"` (de) or `"12.50"` (en) → 1250; at most two decimals."""
    cleaned = text.strip().replace("€", "").replace("\u00a0", "").strip()
    try:
        value = parse_decimal(cleaned, locale=formats.locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise AmountError(cleaned) from None
    cents = value * 100
    if cents != cents.to_integral_value():
        raise AmountError(cleaned)
    return int(cents.to_integral_value())


def _message(
    error: ErrorDetails, formats: Formats, *, money: bool, messages: Mapping[str, str]
) -> str:
    _ = gettext_for(formats.language)
    context: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    if kind in messages:
        return messages[kind]
    limit = next((context[key] for key in ("ge", "gt", "le", "lt") if key in context), None)
    shown = formats.money(limit) if money and isinstance(limit, int) else limit
    if kind in ("missing", "string_too_short"):
        return str(_("Please fill this in."))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return str(_("Please enter a whole number."))
    if kind in ("greater_than_equal", "greater_than"):
        return str(_("Must be at least {limit}.")).format(limit=shown)
    if kind in ("less_than_equal", "less_than"):
        return str(_("Must be at most {limit}.")).format(limit=shown)
    if kind == "string_too_long":
        return str(_("At most {limit} characters.")).format(limit=context.get("max_length"))
    if kind == "string_pattern_mismatch":
        return str(_("This does not have the expected form."))
    return str(_("This value is not accepted."))


def field_errors(
    error: ValidationError,
    formats: Formats,
    *,
    money: tuple[str, ...] = (),
    messages: Mapping[str, str] | None = None,
) -> FieldErrors:
    """Each invalid field's first problem, in the page's language, by field name; `messages`
    gives the (translated) text of a model's own error types (`PydanticCustomError`)."""
    errors: FieldErrors = {}
    for detail in error.errors():
        field = str(detail["loc"][0]) if detail["loc"] else ""
        text = _message(detail, formats, money=field in money, messages=messages or {})
        errors.setdefault(field, text)
    return errors


def validated(
    model: type[M],
    form: Mapping[str, Any],
    formats: Formats,
    *,
    money: tuple[str, ...] = (),
    messages: Mapping[str, str] | None = None,
) -> tuple[M | None, FieldErrors]:
    """The form as `model`, or None and the errors by field. Fields named in `money` are
    euros as typed and become cents; an empty optional field counts as not given. `messages`:
    see `field_errors`."""
    values: dict[str, Any] = {}
    errors: FieldErrors = {}
    _ = gettext_for(formats.language)
    for name, raw in form.items():
        text = raw.strip() if isinstance(raw, str) else raw
        if text == "":
            continue
        if name in money:
            try:
                values[name] = cents_from(text, formats)
            except AmountError:
                errors[name] = str(_("Please enter an amount like {example}.")).format(
                    example=formats.amount(1250)
                )
            continue
        values[name] = text
    try:
        checked = model.model_validate(values)
    except ValidationError as error:
        return None, field_errors(error, formats, money=money, messages=messages) | errors
    if errors:
        return None, errors
    return checked, {}
