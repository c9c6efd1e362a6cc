"""Hypothesis strategies for the values a JSON Schema of the wire contract allows.

Only the keywords `broker.schemas` writes into request schemas are understood (objects with
properties, required and no additional ones, `$ref` into `$defs`, `anyOf`, strings with length
and pattern, bounded integers, bounded arrays, booleans, null); any other keyword raises, so a
new kind of field is noticed here rather than silently fuzzed wrong. (hypothesis-jsonschema
would be the general tool, but 0.23.1 fails on the installed hypothesis: it uses a private
`many.more()` that no longer exists.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Keywords that describe and do not constrain.
_NOTES = frozenset({"$schema", "title", "description", "examples", "default"})
_KNOWN = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "$defs",
        "$ref",
        "anyOf",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
    }
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid per `schema`, a root schema whose `$ref`s point into its `$defs`."""
    return _Builder(schema.get("$defs", {})).build(schema)


class _Builder:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions

    def build(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        unknown = schema.keys() - _NOTES - _KNOWN
        if unknown:
            raise ValueError(f"keywords not understood here: {sorted(unknown)}")
        if "$ref" in schema:
            return self.build(self._definitions[schema["$ref"].removeprefix("#/$defs/")])
        if "anyOf" in schema:
            return st.one_of([self.build(member) for member in schema["anyOf"]])
        kind = schema["type"]
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            return st.lists(
                self.build(schema["items"]),
                min_size=schema.get("minItems", 0),
                max_size=schema.get("maxItems", 5),
            )
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return st.integers(schema.get("minimum"), schema.get("maximum"))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        raise ValueError(f"type {kind!r} not understood here")

    def _object(self, schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        if schema.get("additionalProperties", True) is not False:
            raise ValueError("the contract's objects admit no additional properties")
        properties = {name: self.build(sub) for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: value for name, value in properties.items() if name in required},
            optional={name: value for name, value in properties.items() if name not in required},
        )

    def _string(self, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" not in schema:
            return st.text(min_size=low, max_size=high)
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda text: low <= len(text) and (high is None or len(text) <= high)
        )
