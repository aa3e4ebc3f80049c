"""The organisation file: schema, errors that name their place, and idempotent import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import cli
from storage import orgfile
from storage.db import make_engine, make_sessions
from storage.models import (
    CategoryRow,
    HouseholdRow,
    KeyHouseholdRow,
    PersonRow,
    PlaceRow,
    RoleRow,
    TeamMemberRow,
    TeamRow,
)
from storage.orgfile import (
    OrgFile,
    OrgFileError,
    import_org,
    importing,
    load_org_file,
    parse_org,
)

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
TABLES = ("places", "households", "people", "roles", "teams", "team_members", "categories")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(migrated_db: str) -> AsyncIterator[Sessions]:
    engine = make_engine(migrated_db)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


def sample_data() -> dict[str, Any]:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def person_index(data: dict[str, Any], code: str) -> int:
    return next(i for i, p in enumerate(data["people"]) if p["code"] == code)


async def snapshot(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    async with sessions() as session:
        return {
            table: [
                tuple(row)
                for row in await session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
            ]
            for table in TABLES
        }


async def place_id(sessions: Sessions, code: str) -> int:
    async with sessions() as session:
        return (await session.scalars(select(PlaceRow.id).where(PlaceRow.code == code))).one()


async def roles_of(sessions: Sessions, person_code: str) -> set[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(RoleRow.role, PlaceRow.code)
            .join(PersonRow, PersonRow.id == RoleRow.person_id)
            .join(PlaceRow, PlaceRow.id == RoleRow.place_id)
            .where(PersonRow.code == person_code)
        )
        return {(role, code) for role, code in rows}


async def members_of(sessions: Sessions, team_code: str) -> set[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(PersonRow.code)
            .join(TeamMemberRow, TeamMemberRow.person_id == PersonRow.id)
            .join(TeamRow, TeamRow.id == TeamMemberRow.team_id)
            .where(TeamRow.code == team_code)
        )
        return {code for code in rows if code is not None}


# --- the sample ---------------------------------------------------------------------------------


def test_sample_parses_without_warnings() -> None:
    org = load_org_file(SAMPLE)
    assert org.street.code == "xinhua"
    assert len(org.communities) == 2
    first_unit = org.communities[0].grids[0].buildings[0].units[0]
    assert first_unit.code == "b-hp-1-u1"
    assert {"101", "102"} <= set(first_unit.room_numbers())
    assert orgfile.org_warnings(org) == []
    assert org.buildings()[0] == ("b-hp-1", "1号楼", "Building 1")


def test_generated_rooms_run_floor_by_floor() -> None:
    unit = orgfile.UnitSpec.model_validate(
        {"code": "u", "name": {"zh": "1单元"}, "floors": 3, "rooms_per_floor": 2}
    )
    assert unit.room_numbers() == ["101", "102", "201", "202", "301", "302"]


def test_each_grid_has_one_unit_head_building_head_and_grid_worker_at_least() -> None:
    org = load_org_file(SAMPLE)
    scopes: dict[str, list[str]] = {}
    for person in org.people:
        for role in person.roles:
            scopes.setdefault(role.role.value, []).append(role.scope)
    for community in org.communities:
        for grid in community.grids:
            buildings = {b.code for b in grid.buildings}
            units = {u.code for b in grid.buildings for u in b.units}
            assert scopes["grid_worker"].count(grid.code) == 1
            assert len(buildings & set(scopes["building_head"])) >= 1
            assert len(units & set(scopes["unit_head"])) >= 1
    assert scopes["unit_head"].count("b-hp-1-u1") == 1
    assert scopes["building_head"].count("b-hp-1") == 1


async def test_sample_imports_with_expected_counts(sessions: Sessions) -> None:
    org = load_org_file(SAMPLE)
    report = await import_org(sessions, org)

    explicit_roles = sum(len(p.roles) for p in org.people)
    members = sum(len(t.members) for t in org.teams)
    assert report.places.created == 40
    assert report.households.created == 242
    assert report.people.created == len(org.people) == 58
    assert report.roles.created == explicit_roles + members  # members volunteer in one team each
    assert report.teams.created == 5
    assert report.team_members.created == members == 12
    assert report.categories.created == 10
    assert report.changed
    assert report.lines()[0] == "street xinhua: imported"
    assert "places: 40 created, 0 updated, 0 unchanged" in report.lines()

    async with sessions() as session:
        places = {p.code: p for p in await session.scalars(select(PlaceRow))}
        assert places["wuye-hemei"].kind == "department"
        assert places["wuye-hemei"].parent_id == places["xinhua"].id
        assert places["c-yuhua"].position == 1
        assert places["b-hp-1-u1"].parent_id == places["b-hp-1"].id
        assert places["b-hp-1"].parent_id == places["g-heping-1"].id
        assert places["g-heping-1"].parent_id == places["c-heping"].id
        assert (places["g-heping-1"].name_zh, places["g-heping-1"].name_en) == (
            "第一网格",
            "Grid 1",
        )
        rooms = set(
            await session.scalars(
                select(HouseholdRow.room).where(HouseholdRow.unit_id == places["b-hp-1-u1"].id)
            )
        )
        assert {"101", "102"} <= rooms and len(rooms) == 12
        key = await session.scalars(select(HouseholdRow).where(HouseholdRow.is_key))
        assert len(list(key)) == 5
        water = (
            await session.scalars(select(CategoryRow).where(CategoryRow.code == "water_power_gas"))
        ).one()
        assert water.role == "unit_head"
        assert water.department_id == places["wuye-hemei"].id
        assert (water.accept_minutes, water.urgent_resolve_hours, water.position) == (30, 4, 0)
        other = (
            await session.scalars(select(CategoryRow).where(CategoryRow.code == "other"))
        ).one()
        assert other.role is None and other.kind == "routed" and other.position == 9
        red = (await session.scalars(select(TeamRow).where(TeamRow.code == "t-hongguanjia"))).one()
        assert red.skills == ["micro_wish", "elderly_care"]
        assert red.community_id == places["c-heping"].id
        english = await session.scalars(select(PersonRow.code).where(PersonRow.lang == "en"))
        assert set(english) == {"p-lin-siyuan", "p-chen-sirui", "p-mo-xiaoyu"}

    assert await roles_of(sessions, "p-qian-meiling") == {("unit_head", "b-hp-1-u1")}
    assert await roles_of(sessions, "p-zhao-min") == {("volunteer", "c-heping")}
    assert await roles_of(sessions, "p-sun-li") == {("dept_liaison", "wuye-hemei")}
    assert await members_of(sessions, "t-qingdongli") == {"p-zhou-yu", "p-chen-sirui"}


async def test_reimport_changes_and_duplicates_nothing(sessions: Sessions) -> None:
    org = load_org_file(SAMPLE)
    await import_org(sessions, org)
    before = await snapshot(sessions)

    report = await import_org(sessions, load_org_file(SAMPLE))

    assert not report.changed
    assert report.lines()[0] == "street xinhua: no changes"
    for tally in report.tallies().values():
        assert (tally.created, tally.updated, tally.removed) == (0, 0, 0)
    assert report.households.unchanged == 242
    assert await snapshot(sessions) == before


async def test_reimport_keeps_telegram_account_and_household(sessions: Sessions) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    async with sessions() as session, session.begin():
        household = (await session.scalars(select(HouseholdRow.id).limit(1))).one()
        await session.execute(
            update(PersonRow)
            .where(PersonRow.code == "p-li-min")
            .values(telegram_id=5550001, household_id=household, reachable=False)
        )
    data = sample_data()
    data["people"][person_index(data, "p-li-min")]["phone"] = "13999999999"

    report = await import_org(sessions, parse_org(dump(data)))

    assert report.people.updated == 1
    async with sessions() as session:
        li = (await session.scalars(select(PersonRow).where(PersonRow.code == "p-li-min"))).one()
    assert (li.telegram_id, li.household_id, li.reachable) == (5550001, household, False)
    assert li.phone == "13999999999"


async def test_edited_file_updates_in_place(sessions: Sessions) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    grid_id = await place_id(sessions, "g-heping-2")
    async with sessions() as session:
        qian_id = (
            await session.scalars(select(PersonRow.id).where(PersonRow.code == "p-qian-meiling"))
        ).one()
    data = sample_data()
    data["communities"][0]["grids"][1]["name"] = {"zh": "和平二网格", "en": "Heping Grid 2"}
    data["people"][person_index(data, "p-qian-meiling")]["roles"] = [
        {"role": "unit_head", "scope": "b-hp-1-u2"}
    ]
    red = data["teams"][0]
    assert red["code"] == "t-hongguanjia"
    red["members"].remove("p-qian-jun")
    data["key_households"] = [
        k for k in data["key_households"] if k["household"] != "b-hp-2-u1/301"
    ]

    report = await import_org(sessions, parse_org(dump(data)))

    assert (report.places.created, report.places.updated) == (0, 1)
    assert (report.roles.created, report.roles.removed) == (1, 2)  # unit head moved; volunteer gone
    assert (report.team_members.created, report.team_members.removed) == (0, 1)
    assert (report.households.created, report.households.updated) == (0, 1)
    assert report.people.updated == 0
    assert await place_id(sessions, "g-heping-2") == grid_id
    async with sessions() as session:
        grid = await session.get(PlaceRow, grid_id)
        assert grid is not None and (grid.name_zh, grid.name_en) == ("和平二网格", "Heping Grid 2")
        assert (
            await session.scalars(select(PersonRow.id).where(PersonRow.code == "p-qian-meiling"))
        ).one() == qian_id
        counts = {t: len(rows) for t, rows in (await snapshot(sessions)).items()}
    assert counts["places"] == 40 and counts["households"] == 242 and counts["people"] == 58
    assert await roles_of(sessions, "p-qian-meiling") == {("unit_head", "b-hp-1-u2")}
    assert await roles_of(sessions, "p-qian-jun") == set()
    assert await members_of(sessions, "t-hongguanjia") == {"p-zhao-min", "p-li-guifang"}

    again = await import_org(sessions, parse_org(dump(data)))
    assert not again.changed


async def test_places_and_people_missing_from_the_file_are_kept(sessions: Sessions) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    before = await snapshot(sessions)
    data = sample_data()
    dropped = data["communities"][1]["grids"][1]["buildings"].pop()
    assert dropped["code"] == "b-yh-4"
    gone = {"p-su-hua", "p-yu-hong", "p-dai-lin"}  # its building head and unit heads
    data["people"] = [p for p in data["people"] if p["code"] not in gone]
    data["categories"].pop()

    report = await import_org(sessions, parse_org(dump(data)))

    # The people stay (orders refer to them), but the file is the truth for staff: the roles of
    # those it no longer lists are taken away, and nothing else changes.
    after = await snapshot(sessions)
    assert {t for t in after if after[t] != before[t]} == {"roles"}
    assert await roles_of(sessions, "p-su-hua") == set()
    assert report.roles.removed == 3
    assert "  p-su-hua 苏华 (no longer in the file)" in report.lines()


# --- bad files ------------------------------------------------------------------------------------


def _unit(data: dict[str, Any], c: int, g: int, b: int, u: int) -> dict[str, Any]:
    unit: dict[str, Any] = data["communities"][c]["grids"][g]["buildings"][b]["units"][u]
    return unit


def _category(data: dict[str, Any], code: str) -> tuple[int, dict[str, Any]]:
    return next((i, c) for i, c in enumerate(data["categories"]) if c["code"] == code)


def unknown_scope(data: dict[str, Any]) -> str:
    i = person_index(data, "p-li-min")
    data["people"][i]["roles"][0]["scope"] = "g-heping-9"
    return f"people[{i}].roles[0].scope: unknown place 'g-heping-9'"


def rooms_both_ways(data: dict[str, Any]) -> str:
    _unit(data, 0, 0, 0, 0).update({"floors": 6, "rooms_per_floor": 2})
    return (
        "communities[0].grids[0].buildings[0].units[0]: give either rooms or floors+rooms_per_floor"
    )


def rooms_neither_way(data: dict[str, Any]) -> str:
    del _unit(data, 0, 1, 0, 1)["floors"]
    return (
        "communities[0].grids[1].buildings[0].units[1]: give either rooms or floors+rooms_per_floor"
    )


def room_listed_twice(data: dict[str, Any]) -> str:
    _unit(data, 0, 0, 0, 0)["rooms"].append("101")
    return "communities[0].grids[0].buildings[0].units[0].rooms: room '101' is listed twice"


def duplicate_place_code(data: dict[str, Any]) -> str:
    data["communities"][0]["grids"][1]["code"] = "g-heping-1"
    return (
        "communities[0].grids[1].code: duplicate place code 'g-heping-1' "
        "(first at communities[0].grids[0])"
    )


def duplicate_across_kinds(data: dict[str, Any]) -> str:
    _unit(data, 1, 0, 0, 0)["code"] = "wuye-hemei"
    return "communities[1].grids[0].buildings[0].units[0].code: duplicate place code 'wuye-hemei'"


def duplicate_person(data: dict[str, Any]) -> str:
    i = person_index(data, "p-zhang-wei")
    data["people"][i]["code"] = "p-li-min"
    return f"people[{i}].code: duplicate person code 'p-li-min'"


def duplicate_category(data: dict[str, Any]) -> str:
    data["categories"][1]["code"] = "water_power_gas"
    return "categories[1].code: duplicate category code 'water_power_gas'"


def bad_code(data: dict[str, Any]) -> str:
    data["teams"][1]["code"] = "青动力"
    return "teams[1].code: '青动力' is not a valid code"


def unknown_team_member(data: dict[str, Any]) -> str:
    data["teams"][0]["members"].append("p-nobody")
    return "teams[0].members[3]: unknown person 'p-nobody'"


def team_in_a_grid(data: dict[str, Any]) -> str:
    data["teams"][2]["community"] = "g-heping-1"
    return "teams[2].community: 'g-heping-1' is a grid, not a community"


def unknown_liaison(data: dict[str, Any]) -> str:
    data["key_households"][1]["liaison"] = "p-ghost"
    return "key_households[1].liaison: unknown person 'p-ghost'"


def unknown_room(data: dict[str, Any]) -> str:
    data["key_households"][0]["household"] = "b-hp-1-u2/909"
    return "key_households[0].household: unit 'b-hp-1-u2' has no room '909'"


def household_not_in_a_unit(data: dict[str, Any]) -> str:
    data["key_households"][2]["household"] = "b-hp-3/402"
    return "key_households[2].household: 'b-hp-3' is a building, not a unit"


def routed_role_not_a_role(data: dict[str, Any]) -> str:
    data["categories"][0]["role"] = "plumber"
    return "categories[0].role: Input should be 'community_cadre'"


def routed_to_a_supervisor(data: dict[str, Any]) -> str:
    data["categories"][1]["role"] = "supervisor"
    return "categories[1].role: a supervisor does not take orders"


def pool_without_skills(data: dict[str, Any]) -> str:
    i, category = _category(data, "tutoring")
    category["skills"] = []
    return f"categories[{i}].skills: a pool category needs at least one skill"


def pool_with_role(data: dict[str, Any]) -> str:
    i, category = _category(data, "legal_advice")
    category["role"] = "volunteer"
    return f"categories[{i}].role: a pool category goes to volunteers by skill"


def unknown_department(data: dict[str, Any]) -> str:
    i, category = _category(data, "health")
    category["department"] = "hospital-9"
    return f"categories[{i}].department: unknown department 'hospital-9'"


def department_not_a_department(data: dict[str, Any]) -> str:
    data["categories"][0]["department"] = "c-heping"
    return "categories[0].department: 'c-heping' is a community, not a department"


def liaison_of_a_grid(data: dict[str, Any]) -> str:
    i = person_index(data, "p-sun-li")
    data["people"][i]["roles"][0]["scope"] = "g-heping-1"
    return (
        f"people[{i}].roles[0].scope: a dept_liaison must be scoped to a department, "
        "and 'g-heping-1' is a grid"
    )


def unit_head_of_a_department(data: dict[str, Any]) -> str:
    i = person_index(data, "p-qian-meiling")
    data["people"][i]["roles"][0]["scope"] = "wuye-hemei"
    return f"people[{i}].roles[0].scope: 'wuye-hemei' is a department"


def zero_deadline(data: dict[str, Any]) -> str:
    data["categories"][2]["accept_minutes"] = 0
    return "categories[2].accept_minutes: Input should be greater than 0"


def negative_followup(data: dict[str, Any]) -> str:
    data["categories"][3]["followup_days"] = -1
    return "categories[3].followup_days: Input should be greater than 0"


def urgent_slower(data: dict[str, Any]) -> str:
    data["categories"][0]["urgent_resolve_hours"] = 48
    return "categories[0].urgent_resolve_hours: must not be longer than resolve_hours"


def misspelt_field(data: dict[str, Any]) -> str:
    data["people"][0]["nmae"] = data["people"][0].pop("name")
    return "people[0].nmae: unknown field"


def missing_field(data: dict[str, Any]) -> str:
    del data["communities"][1]["grids"][0]["name"]
    return "communities[1].grids[0].name: is required"


def wrong_lang(data: dict[str, Any]) -> str:
    data["people"][2]["lang"] = "fr"
    return "people[2].lang: Input should be 'zh' or 'en'"


def bad_working_hours(data: dict[str, Any]) -> str:
    data["communities"][1]["working_hours"] = "9-5"
    return "communities[1].working_hours: '9-5' is not valid working hours"


def bad_closed_day(data: dict[str, Any]) -> str:
    data["street"]["closed_days"] = ["2026-13-01"]
    return "street.closed_days[0]: Input should be a valid date"


def urgent_queue_slower(data: dict[str, Any]) -> str:
    data["categories"][0]["queue_minutes"] = 10
    return "categories[0].urgent_queue_minutes: must not be longer than queue_minutes"


def bad_on_duty(data: dict[str, Any]) -> str:
    data["people"][2]["on_duty"] = "20:00-08:00"
    return "people[2].on_duty: '20:00-08:00' is not valid working hours"


BAD_FILES: list[Callable[[dict[str, Any]], str]] = [
    unknown_scope,
    rooms_both_ways,
    rooms_neither_way,
    room_listed_twice,
    duplicate_place_code,
    duplicate_across_kinds,
    duplicate_person,
    duplicate_category,
    bad_code,
    unknown_team_member,
    team_in_a_grid,
    unknown_liaison,
    unknown_room,
    household_not_in_a_unit,
    routed_role_not_a_role,
    routed_to_a_supervisor,
    pool_without_skills,
    pool_with_role,
    unknown_department,
    department_not_a_department,
    liaison_of_a_grid,
    unit_head_of_a_department,
    zero_deadline,
    negative_followup,
    urgent_slower,
    misspelt_field,
    missing_field,
    wrong_lang,
    bad_working_hours,
    bad_closed_day,
    urgent_queue_slower,
    bad_on_duty,
]


@pytest.mark.parametrize("spoil", BAD_FILES, ids=lambda f: f.__name__)
def test_bad_file_names_place_and_field(
    tmp_path: Path, spoil: Callable[[dict[str, Any]], str]
) -> None:
    data = sample_data()
    expected = spoil(data)
    path = tmp_path / "org.yaml"
    path.write_text(dump(data), encoding="utf-8")

    with pytest.raises(OrgFileError) as caught:
        load_org_file(path)

    assert any(problem.startswith(expected) for problem in caught.value.messages), (
        caught.value.messages
    )


async def test_bad_files_leave_the_database_as_it_was(sessions: Sessions, tmp_path: Path) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    before = await snapshot(sessions)
    for spoil in BAD_FILES:
        data = sample_data()
        spoil(data)
        data["communities"][0]["name"]["en"] = "Renamed"  # a change that must not land
        path = tmp_path / f"{spoil.__name__}.yaml"
        path.write_text(dump(data), encoding="utf-8")
        with pytest.raises(OrgFileError):
            await import_org(sessions, load_org_file(path))
        assert await snapshot(sessions) == before, spoil.__name__


def test_every_problem_is_collected() -> None:
    data = sample_data()
    expected = [unknown_scope(data), unknown_team_member(data), pool_without_skills(data)]
    with pytest.raises(OrgFileError) as caught:
        parse_org(dump(data))
    assert len(caught.value.messages) == 3
    for problem, start in zip(caught.value.messages, expected, strict=True):
        assert problem.startswith(start)
    assert str(caught.value).count("\n") == 2


def test_structural_problems_are_all_collected() -> None:
    data = sample_data()
    expected = [rooms_both_ways(data), misspelt_field(data), zero_deadline(data)]
    with pytest.raises(OrgFileError) as caught:
        parse_org(dump(data))
    problems = caught.value.messages
    assert all(any(p.startswith(e) for p in problems) for e in expected), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("street: {code: x, name: {zh: 街道}\ncommunities: []\n", "line 2, column "),
        ("street:\n  code: x\n   name: {zh: 街道}\n", "line 3, column "),
        ("street: {code: x, name: {zh: 街道}}\npeople:\n\t- {code: p}\n", "line 3, column 1"),
        (
            "street: {code: x, name: {zh: 街道}}\nstreet: {code: y, name: {zh: 街道}}\n",
            "line 2, column 1: the key 'street' is given twice",
        ),
        ("- just\n- a list\n", "the file must be a mapping"),
        ("", "the file must be a mapping"),
    ],
)
def test_yaml_syntax_errors_give_line_numbers(text: str, expected: str) -> None:
    with pytest.raises(OrgFileError) as caught:
        parse_org(text)
    assert caught.value.messages[0].startswith(expected), caught.value.messages


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(OrgFileError, match="cannot read the file"):
        load_org_file(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("street: {code: x, name: {zh: caf\xe9}}".encode("latin-1"))
    with pytest.raises(OrgFileError, match="not UTF-8"):
        load_org_file(latin)


def test_plain_scalars_are_read_as_text_not_yaml_numbers() -> None:
    org = parse_org(
        "street: {code: x, name: {zh: 街道}}\n"
        "communities:\n"
        "  - code: c\n"
        "    name: {zh: 社区}\n"
        "    grids:\n"
        "      - code: g\n"
        "        name: {zh: 网格}\n"
        "        buildings:\n"
        "          - code: b\n"
        "            name: {zh: 楼}\n"
        "            units:\n"
        "              - {code: no, name: {zh: 单元}, rooms: [0101, 1e3, 102]}\n"
        "people:\n"
        "  - {code: p, name: 某人, phone: 013800000001, roles: [{role: unit_head, scope: no}]}\n"
    )
    unit = org.communities[0].grids[0].buildings[0].units[0]
    assert unit.code == "no"
    assert unit.room_numbers() == ["0101", "1e3", "102"]
    assert org.people[0].phone == "013800000001"


def test_merge_keys_work_for_shared_deadlines() -> None:
    org = parse_org(
        "street: {code: x, name: {zh: 街道}}\n"
        "categories:\n"
        "  - &base {code: a, name: {zh: 甲}, kind: routed, accept_minutes: 30, resolve_hours: 24,\n"
        "           urgent_accept_minutes: 10, urgent_resolve_hours: 4}\n"
        "  - {<<: *base, code: b, name: {zh: 乙}}\n"
    )
    assert [c.code for c in org.categories] == ["a", "b"]
    assert org.categories[1].resolve_hours == 24


async def test_unchecked_file_is_refused_by_the_importer(sessions: Sessions) -> None:
    data = sample_data()
    unknown_team_member(data)
    org = OrgFile.model_validate(yaml.safe_load(dump(data)))
    with pytest.raises(OrgFileError, match=r"teams\[0\]\.members\[3\]"):
        await import_org(sessions, org)
    assert all(not rows for rows in (await snapshot(sessions)).values())


async def test_code_used_by_another_kind_of_place_in_the_database(sessions: Sessions) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    before = await snapshot(sessions)
    data = sample_data()
    grid = data["communities"][1]["grids"][1]
    grid["code"] = "g-yuhua-3"
    for person in data["people"]:
        for role in person.get("roles", []):
            if role["scope"] == "g-yuhua-2":
                role["scope"] = "g-yuhua-3"
    grid["buildings"].append({"code": "g-yuhua-2", "name": {"zh": "新楼"}})  # a grid's code

    with pytest.raises(OrgFileError) as caught:
        await import_org(sessions, parse_org(dump(data)))

    assert caught.value.messages == [
        "communities[1].grids[1].buildings[2].code: 'g-yuhua-2' is a grid in the database, "
        "not a building; give the building a new code"
    ]
    assert await snapshot(sessions) == before


async def test_failure_midway_rolls_everything_back(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_org(sessions, load_org_file(SAMPLE))
    before = await snapshot(sessions)
    data = sample_data()
    data["communities"][0]["name"]["en"] = "Heping"
    data["people"][0]["phone"] = "1"
    data["teams"][0]["members"].pop()

    async def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing, "write_categories", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await import_org(sessions, parse_org(dump(data)))

    assert await snapshot(sessions) == before


async def test_key_households_and_digest_times_are_stored_and_follow_the_file(
    sessions: Sessions,
) -> None:
    """Each key household keeps its kind, liaison and cadence; dropped from the file, it goes."""
    report = await import_org(sessions, load_org_file(SAMPLE))
    assert report.key_households.created == 5
    async with sessions() as session:
        rows = {
            (r.kind, r.visit_every_days, r.liaison_id)
            for r in await session.scalars(select(KeyHouseholdRow))
        }
        zhao = await session.scalar(select(PersonRow).where(PersonRow.code == "p-zhao-min"))
        zhou = await session.scalar(select(PersonRow).where(PersonRow.code == "p-zhou-jianguo"))
    assert zhao is not None and zhou is not None
    assert ("elderly_alone", 30, zhao.id) in rows and len(rows) == 5
    assert zhou.digest_time == "07:30"

    data = sample_data()
    data["key_households"][0]["visit_every_days"] = 14
    data["key_households"] = data["key_households"][:4]
    report = await import_org(sessions, parse_org(dump(data)))
    assert (report.key_households.updated, report.key_households.removed) == (1, 1)
    assert report.key_households.unchanged == 3


def test_a_digest_time_must_be_a_time_of_day() -> None:
    data = sample_data()
    data["people"][0]["digest_time"] = "8am"
    with pytest.raises(OrgFileError) as error:
        parse_org(dump(data))
    assert "people[0].digest_time" in str(error.value)


def test_duplicate_place_code_is_named_not_reported_as_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A community copied with the old code: one error naming both places, no "unknown …"."""
    data = sample_data()
    data["communities"][1]["code"] = "c-heping"
    path = tmp_path / "org.yaml"
    path.write_text(dump(data), encoding="utf-8")

    with pytest.raises(OrgFileError) as caught:
        load_org_file(path)

    assert caught.value.messages == [
        "communities[1].code: duplicate place code 'c-heping' (first at communities[0]); "
        "give each place its own code"
    ]
    monkeypatch.setenv("SANDAN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    assert cli.main(["org", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "duplicate place code 'c-heping'" in err and "unknown" not in err


async def test_working_time_hours_and_closed_days_are_stored(sessions: Sessions) -> None:
    """A community keeps the street's hours unless it sets its own, and both sets of closed days."""
    data = sample_data()
    data["street"]["closed_days"] = ["2026-12-31"]
    data["communities"][1]["working_hours"] = "09:00-12:00, 14:00-18:00"
    await import_org(sessions, parse_org(dump(data)))
    async with sessions() as session:
        rows = {
            row.code: row
            for row in await session.scalars(
                select(PlaceRow).where(PlaceRow.kind.in_(("street", "community")))
            )
        }
        categories = {
            row.code: row.working_time for row in await session.scalars(select(CategoryRow))
        }
    heping = rows["c-heping"]
    assert heping.working_hours == "08:30-12:00, 13:30-17:30"
    assert heping.closed_days == ["2026-11-20", "2026-12-31"]
    other = rows[data["communities"][1]["code"]]
    assert other.working_hours == "09:00-12:00, 14:00-18:00"
    assert other.closed_days == ["2026-12-31"]
    assert categories["neighbour_dispute"] is True and categories["water_power_gas"] is False


async def test_clocks_and_on_duty_hours_are_stored(sessions: Sessions) -> None:
    """clocks (issue 15): the queue's and the pool's times, defaults where the file is silent,
    and a person's own hours."""
    data = sample_data()
    data["people"][2]["on_duty"] = "08:00-12:00, 14:00-20:00"
    await import_org(sessions, parse_org(dump(data)))
    async with sessions() as session:
        categories = {row.code: row for row in await session.scalars(select(CategoryRow))}
        people = {row.code: row for row in await session.scalars(select(PersonRow))}
    wish, other, repairs = (categories[c] for c in ("micro_wish", "other", "water_power_gas"))
    assert (wish.pool_hours, wish.urgent_pool_hours) == (24, 4)
    assert (other.queue_minutes, other.urgent_queue_minutes) == (60, 15)
    assert (repairs.queue_minutes, repairs.pool_hours, repairs.urgent_pool_hours) == (60, 24, 2)
    assert people[data["people"][2]["code"]].on_duty == "08:00-12:00, 14:00-20:00"
    assert people[data["people"][0]["code"]].on_duty is None


# --- rounds (issue 17): households made key in chat --------------------------------------------
async def _room(sessions: Sessions, unit_code: str, room: str) -> int:
    unit_id = await place_id(sessions, unit_code)
    async with sessions() as session:
        found = await session.scalar(
            select(HouseholdRow.id).where(
                HouseholdRow.unit_id == unit_id, HouseholdRow.room == room
            )
        )
    assert found is not None
    return found


async def test_a_household_made_key_in_chat_outlives_an_import_until_the_file_lists_it(
    sessions: Sessions,
) -> None:
    """The file never knew it, so an import keeps it key; once the file lists it, it rules."""
    await import_org(sessions, load_org_file(SAMPLE))
    household_id = await _room(sessions, "b-hp-1-u1", "202")
    async with sessions() as session:
        liaison = await session.scalar(
            select(PersonRow.id).where(PersonRow.code == "p-zhao-guoqiang")
        )
        session.add(
            KeyHouseholdRow(
                household_id=household_id,
                kind="独居老人",
                liaison_id=liaison,
                visit_every_days=14,
                source="chat",
            )
        )
        await session.execute(
            update(HouseholdRow).where(HouseholdRow.id == household_id).values(is_key=True)
        )
        await session.commit()

    report = await import_org(sessions, load_org_file(SAMPLE))
    assert report.key_households.removed == 0
    async with sessions() as session:
        kept = await session.get(KeyHouseholdRow, household_id)
        household = await session.get(HouseholdRow, household_id)
        assert kept is not None and (kept.kind, kept.source) == ("独居老人", "chat")
        assert household is not None and household.is_key

    data = sample_data()
    data["key_households"].append(
        {
            "household": "b-hp-1-u1/202",
            "kind": "disabled",
            "liaison": "p-zhao-guoqiang",
            "visit_every_days": 30,
        }
    )
    await import_org(sessions, parse_org(dump(data)))
    async with sessions() as session:
        listed = await session.get(KeyHouseholdRow, household_id)
        assert listed is not None and (listed.kind, listed.source) == ("disabled", "file")
    await import_org(sessions, load_org_file(SAMPLE))  # the file drops it again: no longer key
    async with sessions() as session:
        assert await session.get(KeyHouseholdRow, household_id) is None
        household = await session.get(HouseholdRow, household_id)
        assert household is not None and not household.is_key
