"""Text people type (names, notes, descriptions): printable, without invisible characters.

One rule for the wire contract, the web API and the CLI. Refused are the Unicode categories Cc
(control: NUL, C0, DEL, C1), Cf (format: bidi overrides such as U+202E, zero-width characters,
tag characters), Co (private use) and Cs (lone surrogates, which JSON's `\\ud800` can carry and
UTF-8 cannot store). PostgreSQL refuses NUL, displays and logs are fooled by the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Categories Cc, Cf and Co of Unicode 14 (Python 3.11); tests/core/test_text.py checks this list
# against `unicodedata`. Lone surrogates (Cs) are left out: a JSON Schema pattern cannot name
# them, and the check below refuses them separately.
_INVISIBLE_BUT_C0 = (
    "\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ue000-\uf8ff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_C0 = "\x00-\x1f"
_C0_BUT_LINE_BREAKS = "\x00-\x08\x0b\x0c\x0e-\x1f"  # keeps tab, LF and CR
_SURROGATES = "\ud800-\udfff"

# For schemas (JSON Schema, OpenAPI): one line of text without invisible characters.
PLAIN_TEXT = f"^[^{_C0}{_INVISIBLE_BUT_C0}]*$"
_ONE_LINE = re.compile(f"[{_C0}{_INVISIBLE_BUT_C0}{_SURROGATES}]")
# Multi-line text (a description) also allows tabs and line breaks.
PLAIN_LINES = f"^[^{_C0_BUT_LINE_BREAKS}{_INVISIBLE_BUT_C0}]*$"
_MULTI_LINE = re.compile(f"[{_C0_BUT_LINE_BREAKS}{_INVISIBLE_BUT_C0}{_SURROGATES}]")
MESSAGE = "must not contain control or invisible formatting characters"


def check_one_line(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a control, format, private-use or
    surrogate character (line breaks and tabs included)."""
    if _ONE_LINE.search(text):
        raise ValueError(MESSAGE)
    return text


def check_lines(text: str) -> str:
    """Like `check_one_line`, but tabs and line breaks are allowed."""
    if _MULTI_LINE.search(text):
        raise ValueError(MESSAGE)
    return text


def _check_if_text(value: object) -> object:
    """`OneLine` may annotate `str | None`: only the text is checked."""
    return check_one_line(value) if isinstance(value, str) else value


class _DocumentPattern:
    """Adds the plain-text pattern to the JSON Schema only: the check itself is a validator,
    so a refusal says what is wrong instead of echoing a long character class."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for member in json_schema.get("anyOf", [json_schema]):
            if member.get("type") == "string":
                member["pattern"] = PLAIN_TEXT
        return json_schema


@dataclass(frozen=True)
class OneLine(GroupedMetadata):
    """One line of plain text, surrounding blanks dropped, 1 to `max_length` characters:
    `name: Annotated[str, OneLine(NAME_MAX)]`."""

    max_length: int
    min_length: int = 1

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(
            strip_whitespace=True, min_length=self.min_length, max_length=self.max_length
        )
        yield AfterValidator(_check_if_text)
        yield _DocumentPattern()
