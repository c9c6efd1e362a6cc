"""Device requests as the handler service hands them to the runtime."""

from __future__ import annotations

import json
from typing import Any

from handlers.runtime import Incoming, Outgoing, Runtime


def request(slug: str, op: str, body: dict[str, Any] | bytes, **kw: Any) -> Incoming:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Incoming(topic=f"mkr/v1/{slug}/req/{op}", payload=payload, **kw)


async def handle(runtime: Runtime, message: Incoming) -> Outgoing | None:
    """The runtime's answer, with the topic parsed once as the service does."""
    return await runtime.handle(message, runtime.topics.parse_request(message.topic))
