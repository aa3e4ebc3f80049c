"""The web console in a real browser: sign in by a chat link or as a Mini App, filter the board,
open an order and reassign it (the worker's chat gets the card), download the month's XLSX; and
what is refused: another grid's order, forged or stale initData, a form from another site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl

from bot.console.reports import HEADERS
from bot.emulator import FakeUser
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    base_of,
    init_data,
    now_epoch,
    screenshot,
)
from tests.e2e.conftest import World
from workflows.model import Person
from workflows.vocabulary import Move


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def login_link(user: FakeUser) -> str:
    """Ask the bot for a console login link in chat and return it."""
    user.send("/console")
    message = await user.wait_for("管理台登录链接")
    return next(word for word in message.text.split() if "/console/login?t=" in word)


async def signed_in_page(browser: Any, link: str, viewport: dict[str, int]) -> Any:
    """Open a login link in a fresh browser context; return its page, on the board."""
    context = await browser.new_context(viewport=viewport, accept_downloads=True)
    page = await context.new_page()
    await page.goto(link)
    return page


async def test_a_dispatcher_filters_the_board_reassigns_an_order_and_downloads_the_month(
    console_world: World, browser: Any, tmp_path: Path
) -> None:
    """Login link → board → filters → order → 改派 → the worker's card → XLSX read back."""
    world = console_world
    dispatcher = await world.join(world.place.dispatcher)
    worker = await world.join(world.place.unit_head)
    grid_worker = await world.join(world.place.grid_worker)
    resident = await world.resident("王阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "厨房水龙头一直滴水")
    await worker.wait_for("新任务")
    other = await world.order(resident, "环境卫生", "楼道里堆了很多纸箱", urgent=True)
    number = f"{order_id:05d}"

    link = await login_link(dispatcher)
    page = await signed_in_page(browser, link, DESKTOP)
    assert "/console/" in page.url
    rows = page.locator("table.board tbody tr")
    assert await page.locator(f'tr[data-order="{order_id}"]').count() == 1
    assert await page.locator(f'tr[data-order="{other}"]').count() == 1
    await screenshot(page, tmp_path, "board-desktop")

    # Filter: the category keeps the leak, urgency "urgent" leaves only the other order.
    await page.select_option("#category", label="水电气维修")
    await page.click("form.filters button[type=submit]")
    assert await rows.count() == 1
    assert number in (await rows.first.inner_text())
    await page.goto(f"{base_of(world)}/console/?urgency=urgent")
    assert await page.locator(f'tr[data-order="{other}"]').count() == 1
    assert await page.locator(f'tr[data-order="{order_id}"]').count() == 0
    await page.goto(f"{base_of(world)}/console/?q=水龙头")
    assert await rows.count() == 1
    await page.goto(f"{base_of(world)}/console/?page=abc")
    assert "页码" in await page.inner_text("body")  # a clear message, naming the field

    # The order page: details, the whole timeline, the dispatcher's actions.
    await page.goto(f"{base_of(world)}/console/")
    await page.click(f'tr[data-order="{order_id}"] a')
    body = await page.inner_text("body")
    assert "厨房水龙头一直滴水" in body and "办理经过" in body and "王阿姨" in body
    assert "13" not in await page.inner_text("dl.details")  # no phone: not the holder
    await screenshot(page, tmp_path, "order-desktop")

    await page.select_option("#to", label=world.place.grid_worker.name)
    await page.fill("#reassign_reason", "楼长今天不在")
    await page.click("form[action$='/reassign'] button")
    assert "已改派" in await page.inner_text(".notice")
    card = await grid_worker.wait_for(lambda m: "新任务" in m.text and number in m.text)
    assert "厨房水龙头一直滴水" in card.text
    timeline = await world.timeline(order_id)
    assert timeline[-1].action == Move.OFFER or Move.REASSIGN in [e.action for e in timeline]
    assert "楼长今天不在" in await page.inner_text("ol.timeline")

    # The month's report: download the XLSX and read it back.
    await page.goto(f"{base_of(world)}/console/reports?period=month")
    async with page.expect_download() as waiting:
        await page.click("#xlsx")
    download = await waiting.value
    saved = tmp_path / "month.xlsx"
    await download.save_as(str(saved))
    sheet = openpyxl.load_workbook(saved).active
    assert sheet is not None
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert tuple(table[0]) == HEADERS
    numbers = {row[0] for row in table[1:]}
    assert {number, f"{other:05d}"} <= numbers
    ours = next(row for row in table[1:] if row[0] == number)
    assert ours[3] == "水电气维修" and ours[9] is not None  # placed at
    async with page.expect_download() as waiting:
        await page.click("#csv")
    csv_file = tmp_path / "month.csv"
    await (await waiting.value).save_as(str(csv_file))
    text = csv_file.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].split(",")[0] == "服务单号" and number in text

    # People: staff, roles, joined or not; an invite link for one who has not joined.
    await page.goto(f"{base_of(world)}/console/people")
    people = await page.inner_text("table")
    assert world.place.grid_worker.name in people and "网格员" in people
    await page.locator("form[action$='/invite'] button").first.click()
    assert "https://t.me/" in await page.inner_text(".notice")
    assert await page.locator("figure svg").count() >= 1  # building posters
    # The audit log is the supervisors': the street's sees the 改派 made here, and by whom.
    answer = await page.goto(f"{base_of(world)}/console/audit")
    assert answer is not None and answer.status == 403
    street = await world.join(await person(world, "p-zhou-jianguo"))
    watching = await signed_in_page(browser, await login_link(street), DESKTOP)
    await watching.goto(f"{base_of(world)}/console/audit?action=console_action")
    audit = await watching.inner_text("table")
    assert f"order {number}" in audit and world.place.dispatcher.name in audit
    await watching.goto(f"{base_of(world)}/console/audit?since=2026-13-01")
    assert "起始日期" in await watching.inner_text(".problem")

    # Phone width: the same pages fit.
    phone = await signed_in_page(browser, await login_link(dispatcher), PHONE)
    await screenshot(phone, tmp_path, "board-phone")
    await phone.goto(f"{base_of(world)}/console/orders/{order_id}")
    await screenshot(phone, tmp_path, "order-phone")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1

    # A login link works once.
    used = await browser.new_page()
    await used.goto(link)
    assert "无效、已用过或已过期" in await used.inner_text("body")
    await page.goto(f"{base_of(world)}/console/")
    await page.click("header form button")  # log out
    await page.goto(f"{base_of(world)}/console/")
    assert "登录管理台" in await page.inner_text("body")


async def test_the_mini_app_signs_in_with_telegrams_initdata_and_refuses_altered_or_old(
    console_world: World, browser: Any
) -> None:
    """initData signed with the bot's token opens the board; altered or too old, it does not."""
    world = console_world
    dispatcher = await world.join(world.place.dispatcher)
    token = world.api.token
    user = {"id": dispatcher.id, "first_name": dispatcher.first_name}
    app = f"{base_of(world)}/console/app"

    good = init_data(token, user, now_epoch(world))
    page = await browser.new_page()
    await page.goto(f"{app}#tgWebAppData={quote(good)}&tgWebAppVersion=8.0")
    await page.wait_for_url("**/console/")
    assert "服务单看板" in await page.inner_text("h1")

    tampered = good.replace(str(dispatcher.id), str(dispatcher.id + 1))
    old = init_data(
        token, user, now_epoch(world) - world.app.settings.console_initdata_max_age - 60
    )
    for refused, says in ((tampered, "无法验证"), (old, "已过期")):
        other = await browser.new_page()
        await other.goto(f"{app}#tgWebAppData={quote(refused)}")
        await other.wait_for_selector(".problem")
        assert says in await other.inner_text(".problem")
        await other.goto(f"{base_of(world)}/console/")
        assert "登录管理台" in await other.inner_text("body")


async def test_a_grid_worker_cannot_open_another_grids_order_and_forms_from_elsewhere_fail(
    console_world: World, browser: Any
) -> None:
    """Another grid's order is "not found" by URL; a form posted from another site is refused."""
    world = console_world
    dispatcher = await world.join(world.place.dispatcher)
    outsider = await world.join(await person(world, "p-zhang-wei"))  # grid g-heping-2's worker
    resident = await world.resident("王阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "厨房水龙头一直滴水")

    neighbour = await world.join(world.place.grid_worker)  # this grid's worker: sees it
    ours = await signed_in_page(browser, await login_link(neighbour), DESKTOP)
    assert await ours.locator(f'tr[data-order="{order_id}"]').count() == 1
    answer = await ours.goto(f"{base_of(world)}/console/orders/{order_id}")
    assert answer is not None and answer.status == 200

    theirs = await signed_in_page(browser, await login_link(outsider), DESKTOP)
    assert await theirs.locator(f'tr[data-order="{order_id}"]').count() == 0
    answer = await theirs.goto(f"{base_of(world)}/console/orders/{order_id}")
    assert answer is not None and answer.status == 404
    assert "厨房水龙头" not in await theirs.inner_text("body")

    page = await signed_in_page(browser, await login_link(dispatcher), DESKTOP)
    await page.goto(f"{base_of(world)}/console/orders/{order_id}")
    csrf = await page.locator("form[action$='/chase'] input[name=csrf]").input_value()
    # The right cookie and token, but sent from another origin: refused, nothing written.
    forged = await page.request.post(
        f"{base_of(world)}/console/orders/{order_id}/chase",
        form={"csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert forged.status == 403
    # A page on another site submitting a form: the cookie stays home (SameSite), no token.
    await page.route(
        "http://evil.example/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=(
                f'<form id="f" method="post" action="{base_of(world)}/console/orders/'
                f'{order_id}/chase"></form><script>document.getElementById("f").submit()'
                "</script>"
            ),
        ),
    )
    await page.goto("http://evil.example/")
    await page.wait_for_load_state()
    assert "/console/orders/" in page.url
    assert "已催办" not in await page.inner_text("body")
    # Without a token from the console's own page, nothing either.
    missing = await page.request.post(
        f"{base_of(world)}/console/orders/{order_id}/chase",
        form={"csrf": "guess"},
        headers={"Origin": base_of(world)},
    )
    assert missing.status == 403
    assert Move.CHASE not in [e.action for e in await world.timeline(order_id)]
    # The real form works.
    await page.goto(f"{base_of(world)}/console/orders/{order_id}")
    await page.click("form[action$='/chase'] button")
    assert "已催办" in await page.inner_text(".notice")
    assert Move.CHASE in [e.action for e in await world.timeline(order_id)]


async def test_a_card_s_mini_app_button_opens_its_order_and_nothing_outside_the_console(
    console_world: World, browser: Any
) -> None:
    """The Mini App signs in and goes to the page its button named (next=/console/orders/N);
    a `next` that leads anywhere else lands on the board."""
    world = console_world
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("王阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "厨房水龙头一直滴水")
    user = {"id": dispatcher.id, "first_name": dispatcher.first_name}
    signed = quote(init_data(world.api.token, user, now_epoch(world)))
    app = f"{base_of(world)}/console/app"

    page = await browser.new_page()
    await page.goto(f"{app}?next=/console/orders/{order_id}#tgWebAppData={signed}")
    await page.wait_for_url(f"**/console/orders/{order_id}")
    assert "厨房水龙头一直滴水" in await page.inner_text("body")

    for elsewhere in ("//evil.example/x", "https://evil.example/", "/console/../../etc"):
        other = await browser.new_page()
        await other.goto(f"{app}?next={quote(elsewhere)}#tgWebAppData={signed}")
        await other.wait_for_url("**/console/")
        assert other.url.startswith(base_of(world)) and other.url.endswith("/console/")
