"""Every resident can ask (issue 16): the menu, free words, voice, call-backs, safety, one card."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World
from tests.e2e.test_spent_buttons import sent_and_marked
from workflows.model import OrderStatus


async def test_the_workers_card_is_one_message_edited_through_its_life(world: World) -> None:
    """Accept, on my way, a note and the resolution all edit the one card; no copy is left."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("钱奶奶", "301")
    order_id = await world.order(resident, "水电气维修", "厨房水管漏水")
    offer = await worker.wait_for("新任务")
    await sent_and_marked(world, f"offer:{order_id}")

    worker.press("接单", offer)
    accepted = await worker.wait_for("您已接下")
    assert accepted.message_id == offer.message_id
    assert "🚶 在路上" in accepted.button_texts()
    await sent_and_marked(world, f"task:{order_id}")

    worker.press("在路上", accepted)
    on_way = await worker.wait_for("您在路上")
    assert on_way.message_id == offer.message_id and on_way.button_texts()
    await sent_and_marked(world, f"task:{order_id}")

    await tap(worker, "记进展")
    await worker.wait_for("进展")
    worker.send("阀门已关，下午换管")
    noted = await worker.wait_for("最新进展：阀门已关")
    assert noted.message_id == offer.message_id
    await sent_and_marked(world, f"task:{order_id}")

    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了新水管")
    done = await worker.wait_for("最新进展：换了新水管")
    assert done.message_id == offer.message_id and done.buttons == []
    await worker.wait_for("已办结")

    cards = [m for m in worker.messages if "厨房水管漏水" in m.text]
    assert [m.message_id for m in cards] == [offer.message_id]
    assert cards[0].edits >= 4
    assert not [m for m in worker.messages if m.buttons]
    assert (await world.get(order_id)).status == OrderStatus.RESOLVED
