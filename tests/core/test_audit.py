"""The audit trail keeps who did what, newest first, filtered by entity and by who."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.models import AuditEvent
from tests.factories import T0, unique_slug


async def test_rows_come_back_newest_first_filtered_by_entity_and_by_who(
    db: AsyncSession,
) -> None:
    ada = Actor.person(unique_slug("ada"), "Ada Lovelace")
    project = unique_slug("project")
    await audit.PROJECT.record(
        db,
        project,
        "approve",
        actor=ada,
        now=T0,
        old="pending",
        new="active",
    )
    await audit.PROJECT.record(
        db,
        project,
        "complete",
        actor=audit.SYSTEM,
        now=T0,
        old="active",
        new="completed",
        note="the sweep",
    )
    await audit.DEVICE.record(db, unique_slug("lathe"), "disable", actor=ada, now=T0)

    of_project = await audit.events(db, limit=10, entity="project", entity_id=project)
    by_ada = await audit.events(db, limit=10, actor_id=ada.id)

    assert [(e.action, e.actor.label, e.old_value, e.new_value) for e in of_project.items] == [
        ("complete", "system", "active", "completed"),
        ("approve", "Ada Lovelace", "pending", "active"),
    ]
    assert [e.action for e in by_ada.items] == ["disable", "approve"]


async def test_the_system_is_no_user_id_and_a_person_always_has_one(db: AsyncSession) -> None:
    db.add(
        AuditEvent(
            at=T0,
            actor_kind="system",
            actor_id="system-user-1",
            entity="project",
            entity_id="1",
            action="approve",
        )
    )

    with pytest.raises(IntegrityError):
        await db.flush()
