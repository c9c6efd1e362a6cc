"""The operations of bank devices (filled in with issue 4)."""

from __future__ import annotations

from broker.contract.spec import OpSpec

OPS: tuple[OpSpec, ...] = ()
