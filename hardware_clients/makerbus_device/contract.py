"""The device side's own copy of the makerbus MQTT contract (see PROTOCOL.md).

Devices must not depend on the server package, so the few constants they need live here.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PREFIX = "mkr/v1"

SLUG_RE = re.compile(r"[a-z0-9-]{2,40}")
"""A device slug; it is also the device's MQTT username and client id."""

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
ID_PREFIX_RE = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
"""Leaves room in a request id for ``-<counter>``."""

OP_RE = re.compile(r"[^/+#\x00]+(/[^/+#\x00]+)*")
"""An op such as ``card/identify``: non-empty topic levels without wildcards.

Deliberately loose: whether the server knows the op is for the server to answer (unknown_op).
"""

MAX_PAYLOAD_BYTES = 4096

QOS = 1
"""Requests, answers, commands and status all travel at QoS 1."""

OFFLINE_STATUS = json.dumps({"online": False}).encode()


def online_status(fw: str) -> bytes:
    """The retained status a device publishes after every (re)connect."""
    return json.dumps({"online": True, "fw": fw}).encode()


def request_payload(request_id: str, fields: Mapping[str, object]) -> bytes:
    """A request's compact JSON ``{"id": ..., **fields}``; ``fields`` must not hold ``id``.

    Raises ValueError for an id that REQUEST_ID_RE rejects or a payload over MAX_PAYLOAD_BYTES.
    """
    if not REQUEST_ID_RE.fullmatch(request_id):
        raise ValueError(f"invalid request id {request_id!r}: 1-64 characters of [A-Za-z0-9_.:-]")
    body = json.dumps({"id": request_id, **fields}, ensure_ascii=False, separators=(",", ":"))
    payload = body.encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"request is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    return payload


@dataclass(frozen=True)
class Topics:
    """The topics of one device below a prefix such as ``mkr/v1``."""

    prefix: str
    slug: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.slug}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def res_prefix(self) -> str:
        return f"{self.base}/res/"

    @property
    def cmd_prefix(self) -> str:
        return f"{self.base}/cmd/"

    @property
    def subscriptions(self) -> tuple[str, str]:
        """The two filters the broker ACL lets a device subscribe to."""
        return f"{self.res_prefix}#", f"{self.cmd_prefix}#"

    def req(self, op: str) -> str:
        return f"{self.base}/req/{op}"

    def res(self, op: str) -> str:
        return f"{self.res_prefix}{op}"
