"""The one rule for text people type: no control, format, private-use or surrogate characters."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from core.text import PLAIN_LINES, PLAIN_TEXT, OneLine, check_lines, check_one_line

REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}
EVERY_CHARACTER = [chr(code) for code in range(sys.maxunicode + 1)]


def test_the_pattern_refuses_exactly_the_control_format_and_private_use_characters() -> None:
    pattern = re.compile(PLAIN_TEXT)
    refused = {ch for ch in EVERY_CHARACTER if not pattern.fullmatch(ch)}

    wanted = {ch for ch in EVERY_CHARACTER if unicodedata.category(ch) in {"Cc", "Cf", "Co"}}
    assert refused == wanted


def test_the_check_also_refuses_lone_surrogates() -> None:
    refused = set()
    for ch in EVERY_CHARACTER:
        try:
            check_one_line(ch)
        except ValueError:
            refused.add(ch)

    assert refused == {
        ch for ch in EVERY_CHARACTER if unicodedata.category(ch) in REFUSED_CATEGORIES
    }


@pytest.mark.parametrize("text", ["Ada Lovelace", "Łukasz Ōta 李", "O'Brien-Smith", "😀 emoji"])
def test_names_in_any_script_pass(text: str) -> None:
    assert check_one_line(text) == text


def test_multi_line_text_allows_tabs_and_line_breaks_only() -> None:
    assert check_lines("a\tb\r\nc") == "a\tb\r\nc"
    assert re.match(PLAIN_LINES, "a\tb\r\nc")
    for bad in ("a\x00", "a\x0b", "a\u202e", "a\ud800"):
        with pytest.raises(ValueError, match="control"):
            check_lines(bad)
    with pytest.raises(ValueError, match="control"):
        check_one_line("a\nb")


class _Named(BaseModel):
    name: Annotated[str, OneLine(10)]


def test_one_line_strips_bounds_and_checks_and_documents_its_pattern() -> None:
    assert _Named(name="  Ada ").name == "Ada"
    for bad in ("", " ", "x" * 11, "Eve\u202e"):
        with pytest.raises(ValidationError):
            _Named(name=bad)
    schema = _Named.model_json_schema()["properties"]["name"]
    assert (schema["pattern"], schema["minLength"], schema["maxLength"]) == (PLAIN_TEXT, 1, 10)


def test_a_refusal_names_the_problem_without_echoing_the_pattern() -> None:
    with pytest.raises(ValidationError) as caught:
        _Named(name="Eve\u202e")

    (error,) = caught.value.errors()
    assert (
        error["msg"] == "Value error, must not contain control or invisible formatting characters"
    )


class _MaybeNamed(BaseModel):
    name: Annotated[str | None, OneLine(10)] = None


def test_one_line_may_annotate_an_optional_text() -> None:
    assert _MaybeNamed(name=None).name is None
    with pytest.raises(ValidationError):
        _MaybeNamed(name="Eve\u202e")
    (text, _) = _MaybeNamed.model_json_schema()["properties"]["name"]["anyOf"]
    assert (text["pattern"], text["maxLength"]) == (PLAIN_TEXT, 10)
