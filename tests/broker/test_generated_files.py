"""Published artefacts match the code that defines them (schemas, container config, docs)."""

from __future__ import annotations

from pathlib import Path

from broker import schemas
from broker.contract import COMMANDS, OPS
from broker.errors import ErrorCode
from broker.mosquitto_config import container_config, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "hardware_clients" / "schemas"


def test_published_json_schemas_match_the_contract_models() -> None:
    published = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.schema.json")}

    expected = {name: schemas.render(schema) for name, schema in schemas.all_schemas().items()}

    assert published == expected, "run: python -m broker.schemas hardware_clients/schemas"


def test_container_mosquitto_conf_is_the_generated_one() -> None:
    published = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()

    assert published == render(container_config()), (
        "run: makerbus broker config --container > deploy/mosquitto/mosquitto.conf"
    )


def test_protocol_documents_every_op_command_and_error_code() -> None:
    protocol = (ROOT / "hardware_clients" / "PROTOCOL.md").read_text()

    missing = [f"`{name}`" for name in [*OPS, *COMMANDS] if f"`{name}`" not in protocol]
    missing += [f"`{code.value}`" for code in ErrorCode if f"`{code.value}`" not in protocol]
    assert missing == []
