"""/console in chat: a staff member gets a one-time login link (and, over HTTPS, the Mini App
as their menu button); a resident, a group, or a bot without a console gets a clear answer."""

from __future__ import annotations

from dataclasses import replace

from bot.emulator import FakeUser
from tests.e2e.conftest import World
from workflows.model import Role

BASE = "https://console.example.org"


async def test_staff_get_a_login_link_and_the_mini_app_menu_button_residents_do_not(
    world: World,
) -> None:
    """The link is in the message and on its button; the menu button opens the Mini App."""
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("王阿姨", "101")
    links = world.app.conversations.links
    world.app.conversations.links = replace(links, console_url=BASE)

    dispatcher.send("/console")
    message = await dispatcher.wait_for("管理台登录链接")
    assert f"{BASE}/console/login?t=" in message.text
    assert message.buttons[0][0].url is not None and message.buttons[0][0].url in message.text
    menu = world.api.menu_buttons.get(dispatcher.id)
    assert menu is not None and menu["type"] == "web_app"
    assert menu["web_app"]["url"] == f"{BASE}/console/app"

    dispatcher.send("/console")
    again = await dispatcher.wait_for(lambda m: "管理台登录链接" in m.text and m is not message)
    assert again.text != message.text  # a fresh one-time link each time

    resident.send("/console")
    assert "只对工作人员开放" in (await resident.wait_for("管理台")).text
    assert world.api.menu_buttons.get(resident.id) is None


async def test_without_a_console_address_staff_are_told_it_is_not_set_up(world: World) -> None:
    """No SANDAN_CONSOLE_BASE_URL: no link, a clear word for the administrator."""
    dispatcher: FakeUser = await world.join(world.place.dispatcher)
    dispatcher.send("/console")
    assert "SANDAN_CONSOLE_BASE_URL" in (await dispatcher.wait_for("管理台")).text


async def test_staff_cards_and_digests_open_the_console_as_a_mini_app(world: World) -> None:
    """Over HTTPS a task card carries a button that opens its order in the console (kept when
    the card is edited), a digest one that opens the board; a resident's card has none."""
    world.app.delivery.console_url = BASE
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("钱奶奶", "301")
    order_id = await world.order(resident, "水电气维修", "厨房水管漏水")
    page = f"{BASE}/console/app?next=/console/orders/{order_id}"

    offer = await worker.wait_for("新任务")
    assert [b.web_app for row in offer.buttons for b in row if b.web_app] == [page]
    worker.press("接单", offer)
    accepted = await worker.wait_for("您已接下")
    assert accepted.message_id == offer.message_id
    assert [b.web_app for row in accepted.buttons for b in row if b.web_app] == [page]
    told = await resident.wait_for("已由")
    assert not [b for row in told.buttons for b in row if b.web_app]

    (chief,) = await world.people(Role.SUPERVISOR, world.place.community.id)
    supervisor = await world.join(chief)
    local = world.clock.now().astimezone(world.app.policy.zone)
    await world.later(hours=(24 - local.hour) + 8)
    digest = await supervisor.wait_for("每日简报")
    assert f"{BASE}/console/app" in [b.web_app for row in digest.buttons for b in row]
