"""`device/config`: what a device needs to know about itself and the server."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from broker.contract.common import Seconds, Timestamp, WireModel

DeviceKindName = Literal["machine", "checkout", "bankomat", "rental"]


class DeviceConfigAnswer(WireModel):
    slug: str
    name: str
    kind: DeviceKindName
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    heartbeat_s: Seconds = Field(description="Seconds between session heartbeats.")
    server_time: Timestamp
