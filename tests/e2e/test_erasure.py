"""/forget erases: after a resident went round the whole loop, no table holds anything of theirs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.demo import tap
from storage.models import Base, OrderRow, OutboxRow
from tests.delivery.conftest import delivered, eventually
from tests.e2e.conftest import World, order_number
from tests.e2e.test_timers import person
from workflows.model import EDIT_KEY

NAME = "甄秘密"
PHONE = "13912345678"
TELEGRAM_ID = 987_654_321
DESCRIPTION = "卫生间天花板渗水滴到灯上"
INFO = "钥匙放在门口鞋柜第二层"
REASON = "刚修完第二天又开始滴水"


async def dump(world: World) -> list[tuple[str, str, str]]:
    """Return every column of every row of every table, as text (JSON as written)."""
    found: list[tuple[str, str, str]] = []
    async with world.app.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    text = (
                        value
                        if isinstance(value, str)
                        else json.dumps(value, default=str, ensure_ascii=False)
                    )
                    found.append((table.name, column, text))
    return found


def holding(rows: list[tuple[str, str, str]], needle: str) -> list[tuple[str, str, str]]:
    """Return the (table, column, value) cells whose text holds the needle."""
    return [cell for cell in rows if needle in cell[2]]


QUESTION = "老年卡在哪里办理，要带什么证件"


async def test_forget_leaves_nothing_of_the_resident_in_any_table(world: World) -> None:
    """Phone, photo, added information, a reopen's reason, two resolutions; then /forget."""
    worker = await world.join(world.place.unit_head)
    user = world.api.user(TELEGRAM_ID, NAME, language_code="zh-hans")
    user.start()
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "301")
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send_contact(f"+86 {PHONE}")
    await user.wait_for("电话已保存")

    user.send("/new")
    await tap(user, "水电气维修")
    await user.wait_for("说说情况")
    user.send(DESCRIPTION)
    await user.wait_for("照片")
    photo = user.send_photo()["photo"][-1]["file_id"]
    await user.wait_for("第 1 张照片")
    await tap(user, "好了")
    await tap(user, "不急")
    await tap(user, "确认提交")
    placed = await user.wait_for("已提交")
    order_id = order_number(placed)

    await tap(worker, "接单")
    await worker.wait_for("您已接下")
    user.send("/my")
    await tap(user, "补充信息")
    await user.wait_for("要补充")
    user.send(INFO)
    await user.wait_for("已补充")
    await worker.wait_for(INFO)
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了防水胶")
    await tap(user, "还没解决")
    await user.wait_for("哪里还没解决")
    user.send(REASON)
    await user.wait_for("重新打开")
    await worker.wait_for(REASON)
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("重新做了防水层")
    await user.wait_for("问题解决了吗")
    # A question (咨询) and its answer: their words too.
    grid = await world.join(world.place.grid_worker)
    user.send("/ask")
    await user.wait_for("想咨询什么")
    user.send(QUESTION)
    await tap(grid, "回复")
    await grid.wait_for("请写下对咨询")
    grid.send("带上户口本去社区服务中心办")
    await user.wait_for("有回复了")
    await delivered(world.app)

    needles = {
        "name": NAME,
        "phone": PHONE,
        "telegram id": str(TELEGRAM_ID),
        "description": DESCRIPTION,
        "information": INFO,
        "reason": REASON,
        "photo": photo,
        "question": QUESTION,
    }
    before = await dump(world)
    assert {what for what, needle in needles.items() if not holding(before, needle)} == set()

    user.send("/forget")
    await tap(user, "确认删除我的信息")
    await user.wait_for("个人信息已删除")
    await delivered(world.app)
    await world.api.wait_idle()
    await delivered(world.app)

    after = await dump(world)
    left = {what: holding(after, needle) for what, needle in needles.items()}
    assert {what: cells for what, cells in left.items() if cells} == {}
    async with world.app.sessions() as session:
        order = await session.get(OrderRow, order_id)
    assert order is not None
    assert order.household_id is None, "the room is no longer linked to the order"
    kept: dict[str, Any] = {
        "status": order.status,
        "building": order.building_id,
        "community": order.community_id,
    }
    assert kept == {
        "status": "closed",
        "building": world.place.building.id,
        "community": world.place.community.id,
    }


async def test_an_erased_residents_order_still_counts_in_its_grid(world: World) -> None:
    """/stats after /forget: the order is counted in its grid, by its building, not its room."""
    supervisor = await world.join(await person(world, "p-chen-hong"))
    resident = await world.resident("孙阿姨", "501")
    order_id = await world.order(resident, "水电气维修", "电表跳闸了")
    resident.send("/forget")
    await tap(resident, "确认删除我的信息")
    await resident.wait_for("个人信息已删除")
    assert (await world.get(order_id)).household_id is None

    supervisor.send("/stats")
    report = await supervisor.wait_for("今日情况")
    assert "新增 1" in report.text
    assert f"· {world.place.grid.names.zh}：新增 1，办结 0，超时 0" in report.text


async def outbox(world: World) -> list[OutboxRow]:
    """Return the outbox rows, oldest first."""
    async with world.app.sessions() as session:
        return list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


async def test_sent_messages_are_emptied_at_once_and_deleted_after_three_days(
    world: World,
) -> None:
    """A sent row keeps only what finds the message again; the sweep deletes it after 3 days."""
    resident = await world.resident("何大爷", "601")
    await delivered(world.app)
    old = await outbox(world)
    assert old and all(r.sent_at is not None for r in old)
    # An edit's id is the message it edited; a message's is the one Telegram gave it.
    assert all(r.message_id is not None for r in old if r.key != EDIT_KEY)
    assert [(r.params, r.actions, r.photo) for r in old] == [({}, [], None)] * len(old)

    world.clock.advance(days=2)
    resident.send("/help")
    await resident.wait_for("/new")
    await delivered(world.app)
    recent = [r for r in await outbox(world) if r.id > old[-1].id]
    assert recent

    world.clock.advance(days=1, hours=1)  # the first rows are now over three days old
    world.app.delivery.wake()

    async def pruned() -> bool:
        return [r.id for r in await outbox(world)] == [r.id for r in recent]

    await eventually(pruned)
