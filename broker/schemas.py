"""JSON Schemas of the wire contract, generated from the op models.

`python -m broker.schemas hardware_clients/schemas` rewrites the published files; a test fails
when they drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from broker.contract import COMMANDS, OPS, CommandSpec, OpSpec
from broker.envelope import REQUEST_ID_PATTERN
from broker.errors import ERROR_MEANINGS, ErrorCode

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PROPERTY = {
    "type": "string",
    "pattern": REQUEST_ID_PATTERN,
    "description": "Chosen by the device; the same on every retry of the same request.",
}


def file_stem(op: str) -> str:
    return op.replace("/", ".")


def _with_envelope(
    model_schema: dict[str, Any], extra: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    schema = dict(model_schema)
    schema["properties"] = {**extra, **schema.get("properties", {})}
    schema["required"] = required + list(schema.get("required", []))
    schema["additionalProperties"] = False
    return schema


def request_schema(spec: OpSpec) -> dict[str, Any]:
    body = spec.request.model_json_schema(mode="validation")
    schema = _with_envelope(body, {"id": ID_PROPERTY}, ["id"])
    return {
        "$schema": DIALECT,
        **schema,
        "title": f"{spec.name} request",
        "description": spec.summary,
    }


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "error answer",
        "properties": {
            "id": {"type": ["string", "null"], "description": "null when the id was unreadable"},
            "ok": {"const": False},
            "error": {"enum": [code.value for code in ErrorCode]},
            "message": {"type": "string"},
        },
        "required": ["id", "ok", "error", "message"],
        "description": "; ".join(f"{c.value}: {m}" for c, m in ERROR_MEANINGS.items()),
    }


def answer_schema(spec: OpSpec) -> dict[str, Any]:
    body = spec.answer.model_json_schema(mode="serialization")
    definitions = body.pop("$defs", {})
    ok = _with_envelope(body, {"id": {"type": "string"}, "ok": {"const": True}}, ["id", "ok"])
    ok["title"] = f"{spec.name} answer"
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": f"{spec.name} answer or error",
        "oneOf": [ok, error_schema()],
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def command_schema(spec: CommandSpec) -> dict[str, Any]:
    body = spec.payload.model_json_schema(mode="serialization")
    return {"$schema": DIALECT, **body, "title": f"cmd/{spec.name}", "description": spec.summary}


def all_schemas() -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {"error.schema.json": {"$schema": DIALECT, **error_schema()}}
    for spec in OPS.values():
        files[f"{file_stem(spec.name)}.request.schema.json"] = request_schema(spec)
        files[f"{file_stem(spec.name)}.answer.schema.json"] = answer_schema(spec)
    for command in COMMANDS.values():
        files[f"cmd.{file_stem(command.name)}.schema.json"] = command_schema(command)
    return files


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.schema.json"):
        stale.unlink()
    for name, schema in all_schemas().items():
        (directory / name).write_text(render(schema))


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "hardware_clients/schemas"))
