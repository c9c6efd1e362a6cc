"""The fuzzer's payloads are what the published request schemas allow."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings

from tests.schema_strategy import from_schema

SCHEMAS = sorted((Path(__file__).parents[2] / "hardware_clients" / "schemas").glob("*.request.*"))


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name.split(".request")[0])
def test_every_generated_payload_is_valid_per_its_schema(path: Path) -> None:
    schema = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(schema)

    @settings(max_examples=30, deadline=None)
    @given(from_schema(schema))
    def check(payload: object) -> None:
        validator.validate(payload)

    check()


def test_a_keyword_it_does_not_understand_is_an_error() -> None:
    with pytest.raises(ValueError, match="not understood"):
        from_schema({"type": "string", "format": "email"})


def test_optional_properties_are_sometimes_left_out() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
        "required": ["a"],
    }
    seen: set[frozenset[str]] = set()

    @settings(max_examples=50, deadline=None)
    @given(from_schema(schema))
    def collect(payload: dict[str, object]) -> None:
        seen.add(frozenset(payload))

    collect()
    assert seen == {frozenset({"a"}), frozenset({"a", "b"})}
