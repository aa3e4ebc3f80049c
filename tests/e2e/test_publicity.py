"""公示 and teams end to end: the channel's posts, the monthly summary, team names, time spent,
the honour list; and that nothing private ever reaches the channel."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.demo import tap
from bot.emulator import FakeUser
from bot.emulator.chats import FakeChat
from tests.e2e.conftest import World
from workflows.model import OrderStatus

CHANNEL = -1001234567890  # 和平社区's 公示 channel in examples/org.yaml
HEADER = "服务单公示"


def channel(world: World) -> FakeChat:
    """Return the community's channel, where the bot is an admin."""
    return world.api.group(CHANNEL, "和平社区公示", type="channel")


async def resolved_and_rated(
    world: World, resident: FakeUser, text: str, stars: int = 5
) -> tuple[int, FakeUser]:
    """Place an order, have the unit head resolve it (1 hour spent) and the resident rate it."""
    worker = await world.join(world.place.unit_head)
    order_id = await world.order(resident, "水电气维修", text)
    worker.press("接单", await worker.wait_for("新任务"))
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了密封圈")
    asked = await worker.wait_for("大约用了多长时间")
    assert asked.button_texts() == ["半小时", "1小时", "2小时", "半天", "其他", "跳过"]
    worker.press("1小时", asked)
    await worker.wait_for("用时 60 分钟")
    resident.press("满意", await resident.wait_for("问题解决了吗"))
    await tap(resident, f"{stars}⭐")
    await resident.wait_for("还想说点什么")
    assert not [m for m in resident.messages if "可以把这件事匿名公示吗" in m.text]  # one at a time
    await tap(resident, "跳过")  # the comment; then the question to publish
    return order_id, worker


def assert_private(chat: FakeChat, *private: str) -> None:
    """Nothing in the channel names the resident, their room or their words."""
    for message in chat.messages:
        for word in private:
            assert word not in message.text, (word, message.text)


async def test_a_closed_order_is_posted_once_anonymised(world: World) -> None:
    """Without consent: category, building, time and stars; never name, room or words; once."""
    posts = channel(world)
    resident = await world.resident("王秀英", "101")
    order_id, _ = await resolved_and_rated(world, resident, "厨房水龙头一直滴水，王秀英家")
    consent = await resident.wait_for("可以把这件事匿名公示吗")
    assert consent.button_texts() == ["可以", "不用"]
    resident.press("不用", consent)
    await resident.wait_for("不登您描述的情况")

    post = await posts.wait_for(HEADER)
    assert "水电气维修" in post.text and "1号楼" in post.text and "★★★★★" in post.text
    assert "小时" in post.text
    assert_private(posts, "王秀英", "101", "厨房水龙头", "滴水", "密封圈")
    order = await world.get(order_id)
    assert order.status == OrderStatus.CLOSED
    assert order.publish_consent is False and order.published_at is not None
    assert order.minutes_spent == 60

    # The consent tap delivered again (Telegram retrying), and the timer that posts unanswered
    # orders: neither posts it twice.
    press = next(
        u
        for u in reversed(world.api.updates)
        if str(u.get("callback_query", {}).get("data", "")).startswith("pun:")
    )
    world.api.redeliver(press)
    await world.later(hours=7)
    await world.api.wait_idle()
    assert [m.text for m in posts.messages].count(post.text) == 1
    assert len([m for m in posts.messages if HEADER in m.text]) == 1


async def test_with_consent_the_residents_words_are_posted(world: World) -> None:
    """A resident who says 可以: the post carries what they described, still no name or room."""
    posts = channel(world)
    resident = await world.resident("李大爷", "102")
    await resolved_and_rated(world, resident, "楼道灯坏了好几天", stars=4)
    resident.press("可以", await resident.wait_for("可以把这件事匿名公示吗"))
    await resident.wait_for("连同您描述的情况")
    post = await posts.wait_for(HEADER)
    assert "楼道灯坏了好几天" in post.text and "★★★★☆" in post.text
    assert_private(posts, "李大爷", "102")


async def test_an_unanswered_order_is_posted_later_without_words(world: World) -> None:
    """The resident rates but never answers the question: hours later it is posted anyway."""
    posts = channel(world)
    resident = await world.resident("赵阿姨", "201")
    order_id, _ = await resolved_and_rated(world, resident, "暖气片漏水，赵阿姨家")
    await resident.wait_for("可以把这件事匿名公示吗")
    await world.later(hours=7)
    post = await posts.wait_for(HEADER)
    assert "水电气维修" in post.text
    assert_private(posts, "赵阿姨", "201", "暖气片")
    assert (await world.get(order_id)).published_at is not None


async def test_the_monthly_summary_goes_to_the_channel_with_its_chart(world: World) -> None:
    """On the 1st at 09:00 the channel gets last month's figures and a chart."""
    posts = channel(world)
    resident = await world.resident("孙阿姨", "302")
    await resolved_and_rated(world, resident, "下水道堵了")
    resident.press("不用", await resident.wait_for("可以把这件事匿名公示吗"))
    await posts.wait_for(HEADER)
    first_of_december = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    await world.later(seconds=(first_of_december - world.clock.now()).total_seconds())
    summary = await posts.wait_for("月度公示")
    assert "2026-11" in summary.text
    assert "收到服务单" in summary.text and "办结" in summary.text and "5.0 星" in summary.text
    chart = await posts.wait_for(lambda m: m.kind == "photo")
    assert "每天收到和办结" in chart.text
    assert_private(posts, "孙阿姨", "302", "下水道")


async def volunteer(world: World, code: str) -> FakeUser:
    """Bring the sample's person with this code into the chat."""
    async with world.app.unit_of_work() as uow:
        person = await uow.people.by_code(code)
    assert person is not None
    return await world.join(person)


async def done_by(world: World, who: FakeUser, wish: str, resident: FakeUser) -> int:
    """A micro-wish placed, claimed and resolved by the volunteer; returns the order's id."""
    order_id = await world.order(resident, "微心愿", wish)
    card = await who.wait_for(wish)
    assert "红管家 · 微心愿" in card.text  # the team that takes it, named on the card
    who.press("认领", card)
    await tap(who, "办结")
    await who.wait_for("怎么解决")
    who.send("送到了")
    return order_id


async def test_teams_named_time_spent_and_the_honour_list(world: World) -> None:
    """Team names on pool cards and the pool list; typed minutes; /team for the leader; the
    honour list names 赵敏 (public: true) and only counts 钱军 (who did not agree)."""
    zhao = await volunteer(world, "p-zhao-min")  # 红管家's leader, public
    qian = await volunteer(world, "p-qian-jun")
    resident = await world.resident("冯奶奶", "402")

    first = await world.order(resident, "微心愿", "想要一副老花镜")
    card = await zhao.wait_for("想要一副老花镜")
    assert "红管家 · 微心愿" in card.text
    zhao.send("/pool")
    listed = await zhao.wait_for("可认领")
    assert "红管家 · 微心愿" in listed.text
    zhao.press("认领", card)
    await tap(zhao, "办结")
    await zhao.wait_for("怎么解决")
    zhao.send("送去了老花镜")
    zhao.press("其他", await zhao.wait_for("大约用了多长时间"))
    await zhao.wait_for("多少分钟")
    zhao.send("九十")
    await zhao.wait_for("只输入分钟数")
    zhao.send("90")
    await zhao.wait_for("用时 90 分钟")
    assert (await world.get(first)).minutes_spent == 90

    second = await done_by(world, qian, "想要一个暖手宝", resident)
    qian.press("半小时", await qian.wait_for("大约用了多长时间"))
    await qian.wait_for("用时 30 分钟")
    assert (await world.get(second)).minutes_spent == 30

    zhao.send("/team")
    report = await zhao.wait_for("已办完")
    assert "红管家" in report.text and "已办完 2 件" in report.text
    assert "钱军" in report.text and "赵敏" in report.text
    qian.send("/team")
    await qian.wait_for("您现在不是队长")

    chief = await volunteer(world, "p-chen-hong")  # 和平社区's supervisor
    chief.send("/summary")
    preview = await chief.wait_for("本月至今")
    assert "红管家：服务 2 次，2.0 小时" in preview.text
    assert "赵敏：服务 1 次，1.5 小时" in preview.text
    assert "钱军" not in preview.text and "还有 1 位志愿者" in preview.text
    await chief.wait_for(lambda m: m.kind == "photo" and "每天收到和办结" in m.text)
    chief.send("/stats")  # the supervisor's digest shows the month's honour list too
    digest = await chief.wait_for("本月笑脸墙")
    assert "赵敏：服务 1 次，1.5 小时" in digest.text
    assert "钱军" not in digest.text and "还有 1 位志愿者" in digest.text
