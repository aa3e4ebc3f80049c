"""What people type, as Telegram delivers it: long names, invisible characters, odd digits, NUL."""

from __future__ import annotations

from bot.demo import tap
from bot.emulator import FakeUser
from tests.e2e.conftest import World
from workflows.model import Order, Person

LONG_FIRST = "Alexandra-Maximiliana-Konstantinopolitana-Wolkenstein-Hohenzoll"  # 63
LONG_FIRST += "e"  # Telegram allows 64 characters in a first name


async def register(world: World, first_name: str, last_name: str | None = None) -> FakeUser:
    """Register a new person with this Telegram name to a room, up to the phone question."""
    world.next_user += 1
    user = world.api.user(world.next_user, first_name, last_name=last_name)
    user.start()
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "101")
    await user.wait_for("请留个电话")
    return user


async def person(world: World, user: FakeUser) -> Person:
    """Return the person behind a Telegram account, as the database holds them."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_telegram(user.id)
    assert found is not None, f"{user.first_name!r} was not registered"
    return found


async def orders(world: World, user: FakeUser) -> list[Order]:
    """Return the orders a person placed."""
    found = await person(world, user)
    async with world.app.unit_of_work() as uow:
        return await uow.orders.of_resident(found.id)


async def describe(world: World, user: FakeUser, text: str) -> None:
    """Start /new, pick a category and send this description."""
    user.send("/new")
    await tap(user, "水电气维修")
    await user.wait_for("说说情况")
    user.send(text)


async def test_a_64_character_first_name_and_a_last_name_register(world: World) -> None:
    """The longest name Telegram allows is shortened to fit, not refused; the resident goes on."""
    assert len(LONG_FIRST) == 64
    user = await register(world, LONG_FIRST, "Schwarzenberg-Liechtenstein")
    done = next(m for m in user.messages if "登记好了" in m.text)
    assert "101" in done.text
    assert (await person(world, user)).name == LONG_FIRST[:39] + "…"
    assert not any("Too long" in m.text or "太长" in m.text for m in user.messages)


async def test_names_with_emoji_bidi_marks_or_nothing_visible(world: World) -> None:
    """Emoji stay, bidi overrides go, a name that shows nothing becomes a neutral 居民."""
    emoji = await register(world, "\u202e王阿姨🌸", "\u2066李\u2069")
    assert (await person(world, emoji)).name == "王阿姨🌸 李"
    blank = await register(world, "\u200b \u3164", "\u200f")
    assert (await person(world, blank)).name == "居民"
    assert any("您好，居民" in m.text for m in blank.messages)


async def test_a_description_of_zero_width_characters_is_asked_again(world: World) -> None:
    """Zero-width characters are no description: the polite question again, no order."""
    user = await world.resident("赵阿姨", "102")
    await describe(world, user, "\u200b\u200c\u200d\u2060\ufeff")
    await user.wait_for("说说是什么情况")
    user.send("\u202e\u200b \u2066")
    await user.wait_for("说说是什么情况")
    assert await orders(world, user) == []
    user.send("水龙头一直滴水")
    await user.wait_for("照片")


async def test_full_width_digits_are_a_phone_and_circled_digits_are_not(world: World) -> None:
    """A full-width number (a Chinese keyboard's) is saved in ASCII; ①②③ is refused politely."""
    circled = await register(world, "孙大爷")
    circled.send("①③⑧⓪⓪⓪⓪①①①①")
    await circled.wait_for("电话号码好像不对")
    assert (await person(world, circled)).phone is None
    circled.send("¹³⁸⁰⁰⁰⁰¹¹¹¹")
    await circled.wait_for("电话号码好像不对")
    circled.send("١٣٨٠٠٠٠١١١١")  # Arabic-Indic digits
    await circled.wait_for("电话号码好像不对")
    assert (await person(world, circled)).phone is None

    full = await register(world, "周阿姨")
    full.send("１３８　００００　１１１１")
    await full.wait_for("电话已保存")
    assert (await person(world, full)).phone == "13800001111"


async def test_nul_in_a_description_is_dropped_on_either_database(world: World) -> None:
    """PostgreSQL refuses NUL, SQLite keeps it: both get the order, stored without the NUL."""
    user = await world.resident("吴大爷", "201")
    await describe(world, user, "水管\x00漏水了\x00")
    await tap(user, "好了")
    await tap(user, "不急")
    await tap(user, "确认提交")
    await user.wait_for("已提交")
    placed = await orders(world, user)
    assert [o.description for o in placed] == ["水管漏水了"]
