"""Notices (通知) and grid groups on the fakes: scope, audiences, approval, opting out, 认领."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fakes import sample_world
from workflows import groups, notices
from workflows.errors import NotAllowed, OrderAlreadyTaken
from workflows.model import (
    Audience,
    BulletinStatus,
    GroupKind,
    OrderStatus,
    Role,
    RoleAssignment,
)
from workflows.notices import BulletinDraft
from workflows.orders import OrderDraft, place_order


def draft(
    place_id: int, audience: Audience = Audience.RESIDENTS, *, urgent: bool = False
) -> BulletinDraft:
    """Return a notice to the place, with words enough to send."""
    return BulletinDraft(place_id, audience, urgent, "周六上午大扫除，请配合。")


async def test_a_building_head_tells_their_building_and_nobody_else() -> None:
    w = sample_world()
    org = w.org
    bulletin = await notices.submit(w.uow, w.clock, org.building_head, draft(org.building.id))
    assert bulletin.status == BulletinStatus.SENT
    told = {n.person_id for n in w.uow.notices if n.ref == bulletin.ref}
    assert told == {org.resident.id, org.neighbour.id}
    for notice in w.uow.notices:
        assert notice.urgent is False and notice.deferrable is True  # behind task cards
    with pytest.raises(NotAllowed):  # a community is wider than their building
        await notices.submit(w.uow, w.clock, org.building_head, draft(org.community.id))
    with pytest.raises(NotAllowed):
        await notices.submit(w.uow, w.clock, org.resident, draft(org.building.id))


async def test_staff_notices_reach_the_crew_inside_the_place_only() -> None:
    w = sample_world()
    org = w.org
    await notices.submit(w.uow, w.clock, org.cadre, draft(org.grid.id, Audience.STAFF))
    told = {n.person_id for n in w.uow.notices}
    assert {org.unit_head.id, org.building_head.id, org.grid_worker.id} <= told
    assert org.resident.id not in told and org.cadre.id not in told  # nor the sender
    assert org.other_grid_worker.id not in told


async def test_a_resident_who_turned_notices_off_gets_only_urgent_ones() -> None:
    w = sample_world()
    org = w.org
    await notices.turn_off(w.uow, w.clock, org.resident, True)
    await notices.submit(w.uow, w.clock, org.grid_worker, draft(org.grid.id))
    assert org.resident.id not in {n.person_id for n in w.uow.notices}
    await notices.submit(w.uow, w.clock, org.grid_worker, draft(org.grid.id, urgent=True))
    urgent = w.uow.notices_for(org.resident.id)
    assert [n.key for n in urgent] == [notices.URGENT_KEY]
    assert urgent[0].deferrable is False and urgent[0].actions == ()


async def test_a_street_wide_notice_waits_for_a_street_supervisor() -> None:
    w = sample_world()
    org = w.org
    street_boss = w.uow.store.people[org.dispatcher.id]  # give two people the street
    boss = replace(street_boss, roles=(RoleAssignment(Role.SUPERVISOR, org.street.id),))
    w.uow.store.people[boss.id] = boss
    admin = replace(org.cadre, roles=(RoleAssignment(Role.ADMIN, org.street.id),))
    w.uow.store.people[admin.id] = admin
    bulletin = await notices.submit(w.uow, w.clock, admin, draft(org.street.id))
    assert bulletin.status == BulletinStatus.PENDING
    assert w.uow.keys_for(boss.id) == ["notice.approve_card"]
    assert org.resident.id not in {n.person_id for n in w.uow.notices}
    with pytest.raises(NotAllowed):
        await notices.decide(w.uow, w.clock, org.grid_worker, bulletin.id, True)
    await notices.decide(w.uow, w.clock, boss, bulletin.id, True)
    assert org.resident.id in {n.person_id for n in w.uow.notices}
    with pytest.raises(notices.NoticeDecided):
        await notices.decide(w.uow, w.clock, boss, bulletin.id, False)


async def test_the_staff_group_gets_no_resident_data_and_one_claim_wins() -> None:
    w = sample_world()
    org = w.org
    await groups.link(w.uow, w.clock, org.grid_worker, -500, GroupKind.STAFF, None)
    order = await place_order(
        w.uow, w.clock, org.resident, OrderDraft(org.repairs.id, "厨房水管漏水了")
    )
    ((chat, post),) = w.uow.store.group_posts
    assert chat == -500 and set(post.params) == {"number", "category", "building", "urgency"}
    taken = await groups.claim(w.uow, w.clock, org.building_head, order.id, -500)
    assert taken.status == OrderStatus.ACCEPTED and taken.assignee_id == org.building_head.id
    with pytest.raises(OrderAlreadyTaken):
        await groups.claim(w.uow, w.clock, org.grid_worker, order.id, -500)
    with pytest.raises(NotAllowed):  # not a staff group
        await groups.claim(w.uow, w.clock, org.grid_worker, order.id, -501)
