"""The ceilings: responders that answer every request at once, with no database.

One per MQTT layer, each its own process with a handler worker's account on the handler service's
shared subscription, so the benchmark's figures read as a fraction of each:
`python -m bench.echo_aiomqtt PORT` (the library the handler service uses), `bench.echo_paho`
(the library under aiomqtt, on its own loop) and `bench.echo_socket` (no MQTT library:
bench.mqtt5 over asyncio streams). This module holds what they share.
"""

from __future__ import annotations

import json
import os

# Alone on the broker while an echo runs: the handler workers start after the echoes stop.
ACCOUNT = "makerbus-handlers-1"
SUBSCRIPTION = "$share/makerbus/mkr/v1/+/req/#"
READY = "echo ready"


def password() -> str:
    return os.environ["MAKERBUS_BROKER_HANDLER_PASSWORD"]


def answer(topic: str, payload: bytes | bytearray, response_topic: str | None) -> tuple[str, bytes]:
    """Where the answer to a request goes and what it says: `ok`, with the request's id."""
    request = json.loads(payload)
    reply_to = response_topic or topic.replace("/req/", "/res/", 1)
    return reply_to, json.dumps({"id": request.get("id"), "ok": True}).encode()
