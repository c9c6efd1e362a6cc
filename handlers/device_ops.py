"""`device/config`."""

from __future__ import annotations

from broker.contract.common import NoFields
from broker.contract.devices import DeviceConfigAnswer
from core.clock import rfc3339
from handlers.context import OpContext


async def device_config(req: NoFields, ctx: OpContext) -> DeviceConfigAnswer:
    """Tell the device who it is, the currency and how often to send heartbeats."""
    return DeviceConfigAnswer(
        slug=ctx.device.slug,
        name=ctx.device.name,
        kind=ctx.device.kind.value,
        currency=ctx.settings.currency,
        heartbeat_s=ctx.settings.heartbeat_period_s,
        server_time=rfc3339(ctx.now),
    )
