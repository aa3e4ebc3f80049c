"""The file is the truth for staff: re-importing it takes roles away, and their work moves on.

Every worker's action also checks the actor's current role, so a card sent before a role was
taken away is refused at the first tap and changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from bot import cli
from bot.demo import tap
from bot.emulator import FakeUser, SentMessage
from storage.models import OrderEventRow, OrderRow, OutboxRow, RoleRow, TeamMemberRow
from tests.e2e.conftest import World
from tests.test_org_import import dump, sample_data
from workflows.model import OrderStatus, Person, Role

SUCCESSOR = "p-guo-zhigang"  # unit head of the next unit; the new file gives him the first too


async def by_code(world: World, code: str) -> Person:
    """Return the person with this code in the organisation file."""
    async with world.app.unit_of_work() as uow:
        person = await uow.people.by_code(code)
    assert person is not None
    return person


def org_without(tmp_path: Path, gone: str, *, successor_of: str | None = None) -> Path:
    """Write the sample file without one person (their unit given to a successor)."""
    data: dict[str, Any] = sample_data()
    removed = next(p for p in data["people"] if p["code"] == gone)
    data["people"].remove(removed)
    if successor_of is not None:
        successor = next(p for p in data["people"] if p["code"] == SUCCESSOR)
        successor["roles"].append({"role": "unit_head", "scope": successor_of})
    path = tmp_path / "org.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


async def import_file(
    world: World,
    path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> list[str]:
    """Run `sandan org import FILE` as an operator would (while the bot runs); return stdout."""
    monkeypatch.setenv("SANDAN_DATABASE_URL", world.app.settings.database_url)
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["org", "import", str(path), *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    world.app.delivery.wake()  # the bot's delivery would find the rows on its next pass anyway
    return out.out.splitlines()


async def offered(worker: FakeUser, number: str) -> SentMessage:
    """Wait for the worker's task card of this order."""
    return await worker.wait_for(lambda m: "新任务" in m.text and number in m.text)


async def counts(world: World) -> dict[str, Any]:
    """Return what an import could change: roles, memberships, orders, timelines, outbox."""
    async with world.app.unit_of_work() as uow:
        s = uow.session
        return {
            "roles": sorted(
                (r.person_id, r.role, r.place_id) for r in await s.scalars(select(RoleRow))
            ),
            "members": sorted(
                (m.team_id, m.person_id) for m in await s.scalars(select(TeamMemberRow))
            ),
            "orders": sorted(
                (o.id, o.status, o.assignee_id, o.version)
                for o in await s.scalars(select(OrderRow))
            ),
            "events": await s.scalar(select(func.count()).select_from(OrderEventRow)),
            "outbox": await s.scalar(select(func.count()).select_from(OutboxRow)),
        }


async def test_deleted_staff_member_loses_offers_and_work(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deleted from the file: the offer goes to the next candidate, the work to the queue."""
    leaver = world.place.unit_head
    worker = await world.join(leaver)
    successor_person = await by_code(world, SUCCESSOR)
    successor = await world.join(successor_person)
    dispatcher = await world.join(world.place.dispatcher)
    first = await world.resident("王阿姨", "101")
    working_id = await world.order(first, "水电气维修", "厨房水龙头一直滴水")
    worker.press("接单", await offered(worker, f"{working_id:05d}"))
    work_card = await worker.wait_for("您已接下")
    second = await world.resident("李大爷", "102")
    offer_id = await world.order(second, "水电气维修", "暖气不热")
    old_card = await offered(worker, f"{offer_id:05d}")
    leaver_code = next(p["code"] for p in sample_data()["people"] if p["name"] == leaver.name)

    lines = await import_file(
        world,
        org_without(tmp_path, leaver_code, successor_of=world.place.unit.code),
        capsys,
        monkeypatch,
    )

    # The report says, per person, what was taken away and where the work went.
    assert f"  {leaver_code} {leaver.name} (no longer in the file)" in lines
    assert f"    roles taken away: unit_head at {world.place.unit.code}" in lines
    assert (
        f"    order {offer_id:05d} (offered): offer withdrawn, now offered to "
        f"{successor_person.name}" in lines
    )
    assert (
        f"    order {working_id:05d} (accepted): taken back, now in the dispatcher's queue" in lines
    )
    # The offer went to the next candidate: his card arrives.
    card = await offered(successor, f"{offer_id:05d}")
    assert "暖气不热" in card.text
    moved = await world.get(offer_id)
    assert moved.status == OrderStatus.OFFERED and moved.assignee_id == successor_person.id
    # The worked order is back in the dispatcher's queue, saying why.
    queued = await dispatcher.wait_for(lambda m: "待派单" in m.text and "厨房水龙头" in m.text)
    assert "原处理人已不再担任该职务" in queued.text
    back = await world.get(working_id)
    assert back.status == OrderStatus.QUEUED and back.assignee_id is None
    last = (await world.timeline(working_id))[-1]
    assert last.action == "withdraw" and last.to_status == OrderStatus.QUEUED
    withdrawn = [e for e in await world.timeline(offer_id) if e.action == "withdraw"]
    assert [e.target_id for e in withdrawn] == [leaver.id]
    await worker.wait_for(lambda m: "已交由其他同事处理" in m.text)
    assert await world.people(Role.UNIT_HEAD, world.place.unit.id) == [
        await by_code(world, SUCCESSOR)
    ]

    # The leaver's old cards lost their buttons; a tap on one (its data kept by a client that
    # did not refresh) is refused at once, and nothing changes.
    await world.api.wait_idle()
    for card_id in (old_card.message_id, work_card.message_id):
        shown = next(m for m in worker.messages if m.message_id == card_id)
        assert not shown.buttons, shown.text
    answer = await worker.wait_answer(worker.press_data(f"acc:{offer_id}", old_card))
    assert answer.text and "不在您手上" in answer.text
    await worker.wait_answer(worker.press_data(f"way:{working_id}", work_card))
    await world.api.wait_idle()
    assert (await world.get(offer_id)).assignee_id == successor_person.id
    assert (await world.get(working_id)).status == OrderStatus.QUEUED
    assert not [m for m in worker.messages if "怎么解决" in m.text]
    assert not [m for m in worker.messages if f"您已接下任务 {offer_id:05d}" in m.text]


async def test_staff_without_role_cannot_accept_an_old_offer(world: World) -> None:
    """A member whose roles were taken away presses an old ✅ 接单: refused, nothing changes."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("赵叔", "301")
    order_id = await world.order(resident, "水电气维修", "卫生间下水道堵了")
    card = await offered(worker, f"{order_id:05d}")
    before = await world.get(order_id)
    async with world.app.unit_of_work() as uow:
        await uow.session.execute(delete(RoleRow).where(RoleRow.person_id == before.assignee_id))
        await uow.commit()

    answer = await worker.wait_answer(worker.press("接单", card))

    assert answer.text and "不再担任" in answer.text
    await world.api.wait_idle()
    after = await world.get(order_id)
    assert (after.status, after.assignee_id, after.version) == (
        OrderStatus.OFFERED,
        before.assignee_id,
        before.version,
    )
    assert [e.action for e in await world.timeline(order_id)] == ["place", "offer"]
    assert not [m for m in worker.messages if "您已接下" in m.text or "电话" in m.text]
    assert not [m for m in resident.messages if world.place.unit_head.name in m.text]


async def test_dry_run_reports_and_changes_nothing(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`sandan org import --dry-run` prints the same report and leaves every row as it was."""
    leaver = world.place.unit_head
    worker = await world.join(leaver)
    await world.join(await by_code(world, SUCCESSOR))
    resident = await world.resident("钱奶奶", "401")
    order_id = await world.order(resident, "水电气维修", "整栋楼停水了")
    card = await offered(worker, f"{order_id:05d}")
    leaver_code = next(p["code"] for p in sample_data()["people"] if p["name"] == leaver.name)
    path = org_without(tmp_path, leaver_code, successor_of=world.place.unit.code)
    before = await counts(world)

    lines = await import_file(world, path, capsys, monkeypatch, "--dry-run")

    assert lines[0].startswith("street xinhua: dry run, nothing was changed")
    assert f"  {leaver_code} {leaver.name} (no longer in the file)" in lines
    assert any(f"order {order_id:05d} (offered): offer withdrawn" in line for line in lines)
    assert await counts(world) == before
    assert (await world.get(order_id)).assignee_id == leaver.id

    done = await import_file(world, path, capsys, monkeypatch)
    assert done[0] == "street xinhua: imported"
    assert done[1:] == lines[1:]  # the dry run said exactly what the import does
    assert await counts(world) != before
    # A phone that still shows the old card (its edit not yet there) sends the old button's data.
    accept = next(b.callback_data for row in card.buttons for b in row if "接单" in b.text)
    assert accept is not None
    answer = await worker.wait_answer(worker.press_data(accept, card))
    assert answer.text and "不在您手上" in answer.text


async def test_a_paused_order_leaves_a_holder_whose_role_was_taken_away(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Paused (挂起) work is still work: it goes to the queue too, not left with the leaver."""
    leaver = world.place.unit_head
    worker = await world.join(leaver)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("赵阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "卫生间的阀门要换")
    worker.press("接单", await offered(worker, f"{order_id:05d}"))
    await worker.wait_for("您已接下")
    await tap(worker, "挂起")
    await tap(worker, "延3天")
    await worker.wait_for("在等什么")
    worker.send("等物业送阀门")
    await worker.wait_for("已挂起")
    assert (await world.get(order_id)).status == OrderStatus.PAUSED
    leaver_code = next(p["code"] for p in sample_data()["people"] if p["name"] == leaver.name)

    lines = await import_file(world, org_without(tmp_path, leaver_code), capsys, monkeypatch)

    assert f"    order {order_id:05d} (paused): taken back, now in the dispatcher's queue" in lines
    queued = await dispatcher.wait_for(lambda m: "待派单" in m.text and "卫生间的阀门" in m.text)
    assert "原处理人已不再担任该职务" in queued.text
    back = await world.get(order_id)
    assert back.status == OrderStatus.QUEUED and back.assignee_id is None
    await worker.wait_for(lambda m: "已交由其他同事处理" in m.text)
