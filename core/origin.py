"""Where a change of money or stock comes from: who, when, from which device and request.

Ledger entries, cash-box entries and stock movements all record it; what a change is about (the
member, the session, the box, a reason) the service passes beside it. `Recorded` is the same
read back from a cash-box entry or a stock movement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.audit import SYSTEM, Actor


@dataclass(frozen=True)
class Origin:
    """A device request (`device_id`, `request_id`) or a person on the web or CLI (`actor`)."""

    now: datetime
    device_id: int | None = None
    device_slug: str | None = None  # for log lines; entries record the id
    request_id: str | None = None
    actor: str | None = None
    actor_name: str | None = None  # for the audit trail; entries record `actor`

    @classmethod
    def of(cls, actor: Actor, *, now: datetime) -> Origin:
        """A change a person (or the system) makes on the web or the CLI."""
        return cls(now=now, actor=actor.id, actor_name=actor.name)

    @property
    def who(self) -> Actor:
        """Who the audit trail names: the device, else the person, else the system."""
        if self.device_slug is not None:
            return Actor.device(self.device_slug)
        if self.actor is not None:
            return Actor.person(self.actor, self.actor_name)
        return SYSTEM


@dataclass(frozen=True)
class Recorded:
    """What an entry recorded of its origin, with the member it was for and a note."""

    member_id: int | None
    device_id: int | None
    request_id: str | None
    actor: str | None
    note: str | None
    created_at: datetime
