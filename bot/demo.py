"""The offline demo: the real bot against the local Bot API emulator, one whole loop, printed."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from bot.app import App, running
from bot.clock import ManualClock
from bot.emulator import FakeBotAPI, FakeUser
from bot.settings import Settings
from storage.db import opened
from storage.orgfile import import_org, load_org_file
from storage.uow import SqlUnitOfWork
from workflows.model import Person, Place, PlaceKind, Role
from workflows.people import issue_invite

SAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
DEMO_TOKEN = "424242:DEMO-TOKEN"
DEMO_USERNAME = "sandan_demo_bot"
DEMO_SUPERVISOR = "p-chen-hong"  # 陈红, the supervisor of the first community


@dataclass(frozen=True)
class Neighbourhood:
    """The first community of an imported organisation and the crew of its first unit."""

    community: Place
    grid: Place
    building: Place
    unit: Place
    unit_head: Person
    building_head: Person
    grid_worker: Person
    community_cadre: Person
    dispatcher: Person


async def survey(uow: SqlUnitOfWork) -> Neighbourhood:
    """Find the first community, grid, building and unit, and who works there."""
    community = (await uow.places.children(None, PlaceKind.COMMUNITY))[0]
    grid = (await uow.places.children(community.id, PlaceKind.GRID))[0]
    building = (await uow.places.children(grid.id, PlaceKind.BUILDING))[0]
    unit = (await uow.places.children(building.id, PlaceKind.UNIT))[0]

    async def one(role: Role, place: Place) -> Person:
        scopes = [p.id for p in (unit, building, grid, community)]
        people = await uow.people.with_role(role, scopes[scopes.index(place.id) :])
        if not people:
            raise LookupError(f"the organisation has no {role.value} for {place.code}")
        return people[0]

    return Neighbourhood(
        community=community,
        grid=grid,
        building=building,
        unit=unit,
        unit_head=await one(Role.UNIT_HEAD, unit),
        building_head=await one(Role.BUILDING_HEAD, building),
        grid_worker=await one(Role.GRID_WORKER, grid),
        community_cadre=await one(Role.COMMUNITY_CADRE, grid),
        dispatcher=await one(Role.DISPATCHER, community),
    )


async def prepare(database_url: str, org_file: Path = SAMPLE_ORG) -> None:
    """Create the schema and import the organisation file."""
    async with opened(database_url) as (_, sessions):
        await import_org(sessions, load_org_file(org_file))


async def join(app: App, api: FakeBotAPI, person: Person, user_id: int) -> FakeUser:
    """Give a staff member a Telegram account and have them open their invite link."""
    async with app.unit_of_work() as uow:
        token = await issue_invite(uow, app.clock, person)
        await uow.commit()
    user = api.user(user_id, person.name, language_code="en" if person.lang == "en" else "zh-hans")
    user.start(f"inv_{token}")
    await user.wait_for("")
    return user


def demo_settings(api: FakeBotAPI, database_url: str) -> Settings:
    """Return settings pointing the bot at the emulator and a scratch database."""
    return Settings(
        bot_token=SecretStr(api.token),
        api_base=api.base_url,
        bot_username=api.bot_username,
        database_url=database_url,
        chat_burst=50,  # a scripted chat taps faster than a person: let bursts through
        sweep_seconds=3600,  # the demo and the tests move the clock and tick by hand
        polling_timeout=5,
        _env_file=None,  # type: ignore[call-arg]
    )


async def tap(user: FakeUser, label: str) -> None:
    """Wait until the bot shows a button with this label, and tap it."""
    await user.tap(label)


async def loop_once(app: App, api: FakeBotAPI, place: Neighbourhood) -> None:
    """Play one order through the whole loop: order, dispatch, accept, resolve, rate."""
    worker = await join(app, api, place.unit_head, 2001)
    resident = api.user(1001, "王阿姨", language_code="zh-hans")
    resident.start()
    await tap(resident, place.community.names.zh)
    await tap(resident, place.building.names.zh)
    await tap(resident, place.unit.names.zh)
    await tap(resident, "101")
    await resident.wait_for("电话")
    resident.send("跳过")
    await resident.wait_for("不留电话")
    resident.send("/new")
    await tap(resident, "水电气")
    await resident.wait_for("说说情况")
    resident.send("厨房水龙头一直滴水，关不紧。")
    await tap(resident, "好了")
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    await resident.wait_for("已提交")
    await tap(worker, "接单")
    await resident.wait_for("已由")
    await tap(worker, "在路上")
    await resident.wait_for("正在赶来")
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了水龙头的密封圈，已经不滴水了。")
    await tap(resident, "满意")
    await tap(resident, "5⭐")
    await tap(resident, "跳过")
    await resident.wait_for("谢谢")
    await worker.wait_for("5 星")
    if place.community.channel is not None:  # 公示: posted anonymised, without her words
        await tap(resident, "不用")


async def a_day_of_timers(app: App, api: FakeBotAPI, place: Neighbourhood) -> None:
    """Let the clock run: a reminder to accept, then the supervisor's morning digest."""
    clock = app.clock
    assert isinstance(clock, ManualClock), "the demo moves time by hand"
    async with app.unit_of_work() as uow:
        chief = await uow.people.by_code(DEMO_SUPERVISOR)
    if chief is None:
        raise AssertionError(f"the sample organisation has no {DEMO_SUPERVISOR}")
    worker = api.user(2001, place.unit_head.name)
    resident = api.user(1001, "王阿姨")
    resident.send("/new")
    await tap(resident, "水电气")
    await resident.wait_for("说说情况")
    resident.send("卫生间的灯不亮了。")
    await tap(resident, "好了")
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    await resident.wait_for("已提交")
    await worker.wait_for("新任务")
    clock.advance(minutes=25)  # 80% of the 30 minutes to accept
    await app.tick()
    await worker.wait_for("还在等您接单")
    await tap(worker, "接单")
    await resident.wait_for("已由")
    supervisor = await join(app, api, chief, 3001)
    local = clock.now().astimezone(app.policy.zone)
    tomorrow_eight = local.replace(hour=8, minute=0) + timedelta(days=1)
    clock.advance(seconds=(tomorrow_eight - local).total_seconds())
    await app.tick()
    await supervisor.wait_for("每日简报")
    await supervisor.wait_for(lambda m: m.photo_file_id is not None)


async def play(database: str | None = None) -> int:
    """Run the demo and print the transcript; return the exit code."""
    with tempfile.TemporaryDirectory(prefix="sandan-demo-") as scratch:
        path = Path(database) if database else Path(scratch) / "demo.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        await prepare(url)
        async with FakeBotAPI(DEMO_TOKEN, bot_username=DEMO_USERNAME) as api:
            async with running(demo_settings(api, url), ManualClock()) as app:
                async with app.unit_of_work() as uow:
                    place = await survey(uow)
                if place.community.channel is not None:  # its 公示 channel, the bot its admin
                    api.group(place.community.channel, "公示", type="channel")
                try:
                    await loop_once(app, api, place)
                    await a_day_of_timers(app, api, place)
                except AssertionError as error:
                    print(api.render_transcript())
                    print(f"\nThe demo stopped: {error}", file=sys.stderr)
                    return 1
                await api.wait_idle()
            print("Sandan demo — the three-list loop (三单闭环), offline\n")
            print(api.render_transcript())
            print(
                "\nThe order was placed, dispatched, accepted, resolved and rated; the next one"
                " got its worker a reminder, and the next morning the supervisor got the digest."
            )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(play()))
