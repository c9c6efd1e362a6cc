"""Projects: who may create, change, approve and close them, and the moves they may make."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import project_members, projects
from core.errors import (
    Conflict,
    InvalidTransition,
    LeaderRequired,
    NotAuthorized,
    ProjectClosed,
    ReasonRequired,
)
from core.projects import Acting
from tests.core.lending import (
    as_member,
    make_item,
    make_project,
    make_request,
    newest_technician_notice,
    notices_of,
    technician,
    trail,
)
from tests.factories import T0, make_member


async def test_a_member_creates_a_pending_project_and_leads_it(db: AsyncSession) -> None:
    grace = await make_member(db, name="Grace Hopper")

    project = await projects.create(
        db, as_member(grace), name="  Robot arm ", description="Six axes", now=T0
    )

    assert (project.name, project.description, project.status) == (
        "Robot arm",
        "Six axes",
        "pending",
    )
    assert [(m.name, m.role) for m in project.members] == [("Grace Hopper", "leader")]
    assert await trail(db, "project", project.id) == [("create", "None → pending", "Grace Hopper")]
    assert await newest_technician_notice(db) == (
        "project_submitted",
        {"project_id": project.id, "project": "Robot arm", "by": "Grace Hopper"},
    )


async def test_someone_who_is_no_member_cannot_create_a_project(db: AsyncSession) -> None:
    with pytest.raises(NotAuthorized):
        await projects.create(db, technician(), name="Lab tidy-up", description=None, now=T0)


async def test_a_technician_approves_a_pending_project_and_its_members_hear_of_it(
    db: AsyncSession,
) -> None:
    grace = await make_member(db, name="Grace Hopper")
    project = await make_project(db, grace, active=False)
    ada = technician("Ada Lovelace")

    approved = await projects.approve(db, ada, project.id, now=T0)

    assert (approved.status, approved.decided_by, approved.decided_at) == (
        "active",
        ada.subject,
        T0,
    )
    assert (await trail(db, "project", project.id))[-1] == (
        "approve",
        "pending → active",
        "Ada Lovelace",
    )
    assert await notices_of(db, grace.member_id) == ["project_approved"]


async def test_a_member_who_is_no_technician_cannot_approve(db: AsyncSession) -> None:
    grace = await make_member(db)
    project = await make_project(db, grace, active=False)

    with pytest.raises(NotAuthorized):
        await projects.approve(db, as_member(grace), project.id, now=T0)


async def test_a_rejection_keeps_its_reason_and_tells_the_members(db: AsyncSession) -> None:
    grace = await make_member(db)
    project = await make_project(db, grace, active=False)

    rejected = await projects.reject(db, technician(), project.id, reason="No budget", now=T0)

    assert (rejected.status, rejected.decision_note) == ("rejected", "No budget")
    assert (await trail(db, "project", project.id))[-1][:2] == ("reject", "pending → rejected")
    assert await notices_of(db, grace.member_id) == ["project_rejected"]


@pytest.mark.parametrize("reason", ["", "   "])
async def test_a_rejection_without_a_reason_is_refused(db: AsyncSession, reason: str) -> None:
    project = await make_project(db, active=False)

    with pytest.raises(ReasonRequired):
        await projects.reject(db, technician(), project.id, reason=reason, now=T0)


async def test_a_rejected_project_cannot_be_approved(db: AsyncSession) -> None:
    project = await make_project(db, active=False)
    await projects.reject(db, technician(), project.id, reason="No budget", now=T0)

    with pytest.raises(InvalidTransition, match="project is rejected; only pending projects"):
        await projects.approve(db, technician(), project.id, now=T0)


async def test_an_active_project_is_completed_by_its_leader_then_archived(
    db: AsyncSession,
) -> None:
    grace = await make_member(db)
    project = await make_project(db, grace)

    await projects.complete(db, as_member(grace), project.id, now=T0)
    archived = await projects.archive(db, technician(), project.id, now=T0)

    assert archived.status == "archived"
    assert [action for action, _, _ in await trail(db, "project", project.id)] == [
        "create",
        "approve",
        "complete",
        "archive",
    ]


async def test_a_pending_project_cannot_be_completed(db: AsyncSession) -> None:
    project = await make_project(db, active=False)

    with pytest.raises(InvalidTransition, match="only active projects can be completed"):
        await projects.complete(db, technician(), project.id, now=T0)


async def test_a_project_with_a_request_open_cannot_be_completed(db: AsyncSession) -> None:
    project = await make_project(db)
    await make_request(db, project, await make_item(db))

    with pytest.raises(InvalidTransition, match="1 open equipment requests"):
        await projects.complete(db, technician(), project.id, now=T0)


async def test_a_member_who_is_no_leader_cannot_complete(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db, name="Alan Turing")
    project = await make_project(db, grace)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)

    with pytest.raises(NotAuthorized):
        await projects.complete(db, as_member(alan), project.id, now=T0)


async def test_the_leader_adds_members_with_roles_and_edits_the_project(db: AsyncSession) -> None:
    grace, alan = await make_member(db, name="Grace Hopper"), await make_member(db, name="Alan")
    project = await make_project(db, grace)

    await project_members.add_member(
        db, as_member(grace), project.id, alan.member_id, "advisor", T0
    )
    edited = await project_members.edit(
        db, as_member(grace), project.id, name="Robot arm II", description=None, now=T0
    )

    assert edited.name == "Robot arm II"
    assert [(m.name, m.role) for m in edited.members] == [
        ("Grace Hopper", "leader"),
        ("Alan", "advisor"),
    ]
    assert [a for a, _, _ in await trail(db, "project", project.id)][-2:] == ["member_add", "edit"]


async def test_a_member_who_is_no_leader_cannot_add_members(db: AsyncSession) -> None:
    grace, alan, bob = [await make_member(db) for _ in range(3)]
    project = await make_project(db, grace)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)

    with pytest.raises(NotAuthorized):
        await project_members.add_member(
            db, as_member(alan), project.id, bob.member_id, "member", T0
        )


async def test_a_member_is_added_once(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    project = await make_project(db, grace)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)

    with pytest.raises(Conflict):
        await project_members.add_member(
            db, as_member(grace), project.id, alan.member_id, "leader", T0
        )


async def test_the_leader_cannot_be_removed(db: AsyncSession) -> None:
    grace = await make_member(db)
    project = await make_project(db, grace)

    with pytest.raises(LeaderRequired):
        await project_members.remove_member(db, as_member(grace), project.id, grace.member_id, T0)


async def test_the_only_leader_cannot_step_down(db: AsyncSession) -> None:
    grace = await make_member(db)
    project = await make_project(db, grace)

    with pytest.raises(LeaderRequired):
        await project_members.set_role(
            db, as_member(grace), project.id, grace.member_id, "member", T0
        )


async def test_a_leader_steps_down_once_another_leads_and_can_then_be_removed(
    db: AsyncSession,
) -> None:
    grace, alan = await make_member(db, name="Grace"), await make_member(db, name="Alan")
    project = await make_project(db, grace)
    leader = as_member(grace)
    await project_members.add_member(db, leader, project.id, alan.member_id, "leader", T0)

    await project_members.set_role(db, leader, project.id, grace.member_id, "member", T0)
    after = await project_members.remove_member(
        db, as_member(alan), project.id, grace.member_id, T0
    )

    assert [(m.name, m.role) for m in after.members] == [("Alan", "leader")]


async def test_the_members_of_a_completed_project_stay_as_they_were(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    project = await make_project(db, grace)
    await projects.complete(db, as_member(grace), project.id, now=T0)

    with pytest.raises(ProjectClosed):
        await project_members.add_member(
            db, as_member(grace), project.id, alan.member_id, "member", T0
        )


async def test_a_members_projects_list_their_role(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    mine = await make_project(db, grace, name="Robot arm")
    theirs = await make_project(db, alan, name="Plotter")
    await project_members.add_member(db, as_member(alan), theirs.id, grace.member_id, "advisor", T0)

    listed = await projects.of_member(db, grace.member_id)

    assert [(p.id, p.name, p.role) for p in listed] == [
        (theirs.id, "Plotter", "advisor"),
        (mine.id, "Robot arm", "leader"),
    ]


async def test_the_technicians_queue_lists_pending_projects_only(db: AsyncSession) -> None:
    pending = await make_project(db, active=False)
    await make_project(db)

    queue = await projects.by_status(db, "pending", limit=50)

    ids = [p.id for p in queue.items]
    assert pending.id in ids
    assert all(p.status == "pending" for p in queue.items)


def test_acting_is_the_person_the_audit_trail_names() -> None:
    acting = Acting(member_id=7, subject="oidc|grace", name="Grace Hopper")

    assert (acting.actor.kind, acting.actor.id, acting.actor.label) == (
        "person",
        "oidc|grace",
        "Grace Hopper",
    )
