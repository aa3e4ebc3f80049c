"""The organisation file: one YAML document for places, people, roles, teams and categories.

`load_org_file` parses and validates it, naming each problem by its place in the file
(`people[3].roles[0].scope: unknown place 'g-heping-9'`); `import_org` writes it to the
database in one transaction, updating by code so that importing again duplicates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import (
    AuditRow,
    CategoryRow,
    HouseholdRow,
    KeyHouseholdRow,
    PersonRow,
    PlaceRow,
    RoleRow,
    TeamMemberRow,
    TeamRow,
)
from storage.uow import SqlUnitOfWork
from workflows.model import CategoryKind, PlaceKind, Role
from workflows.ports import Clock
from workflows.staffing import Outcome, Release, release_work

try:
    from yaml import CSafeLoader as FastSafeLoader
except ImportError:  # PyYAML built without libyaml: same behaviour, slower
    from yaml import SafeLoader as FastSafeLoader  # type: ignore[assignment]

CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SKILL = re.compile(r"[a-z0-9_]{1,32}")
CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# "b_" + code must fit Telegram's 64-character deep-link payload (see bot.qr).
MAX_BUILDING_CODE = 62
# Roles that can be made responsible for a routed category; the rest do not take orders.
ROUTABLE_ROLES = frozenset(
    {
        Role.UNIT_HEAD,
        Role.BUILDING_HEAD,
        Role.GRID_WORKER,
        Role.COMMUNITY_CADRE,
        Role.DEPT_LIAISON,
        Role.VOLUNTEER,
    }
)
NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
MERGE = re.compile(r"^(?:<<)$")
MERGE_TAG = "tag:yaml.org,2002:merge"
RowT = TypeVar("RowT")
TOP_LEVEL_KEYS = "street, departments, communities, people, teams, categories, key_households"


class OrgFileError(Exception):
    """The organisation file cannot be used; `messages` names each problem and where it is."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


# --- the schema -------------------------------------------------------------------------------


def _code(value: str) -> str:
    if not CODE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid code: use letters, digits, '-' and '_' only, "
            "at most 64 characters"
        )
    return value


def _skill(value: str) -> str:
    if not SKILL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid skill: use lower-case letters, digits and '_' only"
        )
    return value


def _room(value: str) -> str:
    if "/" in value:
        raise ValueError(f"{value!r} is not a valid room: a room may not contain '/'")
    return value


def _number_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Code = Annotated[str, AfterValidator(_code)]
Skill = Annotated[str, AfterValidator(_skill)]
Room = Annotated[
    str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=32), AfterValidator(_room)
]
Phone = Annotated[str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=32)]
Positive = Annotated[int, Field(gt=0)]


class Spec(BaseModel):
    """Common configuration of every part of the file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class BilingualName(Spec):
    """A name in Chinese and (optionally) English."""

    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(default="", max_length=200)


class StreetSpec(Spec):
    """The street office 街道 the file describes."""

    code: Code
    name: BilingualName


class DepartmentSpec(Spec):
    """A department or partner (property company, health centre…) reached through liaisons."""

    code: Code
    name: BilingualName
    kind: Literal["department", "partner"] = "department"


class UnitSpec(Spec):
    """A stairway unit 单元 and its rooms, listed or generated as floors × rooms per floor."""

    code: Code
    name: BilingualName
    rooms: list[Room] | None = Field(default=None, min_length=1)
    floors: int | None = Field(default=None, gt=0, le=200)
    rooms_per_floor: int | None = Field(default=None, gt=0, le=99)

    @field_validator("rooms")
    @classmethod
    def _distinct_rooms(cls, rooms: list[str] | None) -> list[str] | None:
        seen: set[str] = set()
        for room in rooms or ():
            if room in seen:
                raise ValueError(f"room {room!r} is listed twice")
            seen.add(room)
        return rooms

    @model_validator(mode="after")
    def _one_way_of_giving_rooms(self) -> UnitSpec:
        listed = self.rooms is not None
        generated = self.floors is not None and self.rooms_per_floor is not None
        partly = (self.floors is None) != (self.rooms_per_floor is None)
        if listed == generated or partly:
            raise ValueError("give either rooms or floors+rooms_per_floor")
        return self

    def room_numbers(self) -> list[str]:
        """Return the unit's rooms: the list given, or 101, 102 … up to the top floor."""
        if self.rooms is not None:
            return list(self.rooms)
        floors = self.floors or 0
        per_floor = self.rooms_per_floor or 0
        return [
            f"{floor}{room:02d}"
            for floor in range(1, floors + 1)
            for room in range(1, per_floor + 1)
        ]


class BuildingSpec(Spec):
    """A building 楼栋 and its units; its QR code registers residents to it."""

    code: Code
    name: BilingualName
    units: list[UnitSpec] = []


class GridSpec(Spec):
    """A grid 网格 and its buildings."""

    code: Code
    name: BilingualName
    buildings: list[BuildingSpec] = []


class CommunitySpec(Spec):
    """A community 社区 and its grids."""

    code: Code
    name: BilingualName
    grids: list[GridSpec] = []


class RoleSpec(Spec):
    """A role a person holds over a place, named by its code."""

    role: Role
    scope: Code


class PersonSpec(Spec):
    """A staff member or volunteer, matched by code on every import."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    phone: Phone | None = None
    lang: Literal["zh", "en"] = "zh"
    roles: list[RoleSpec] = []
    # A supervisor's daily digest time, local ("08:00"); unset: the SANDAN_DIGEST_TIME default.
    digest_time: str | None = None

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None and not CLOCK_TIME.fullmatch(value):
            raise ValueError("write the time as HH:MM on a 24-hour clock, like 08:00")
        return value


class TeamSpec(Spec):
    """A volunteer team of one community, with its skills and members."""

    code: Code
    name: BilingualName
    community: Code
    skills: list[Skill] = []
    members: list[Code] = []


class CategorySpec(Spec):
    """A kind of request: how its orders are routed and how fast they must be handled."""

    code: Code
    name: BilingualName
    kind: CategoryKind
    role: Role | None = None
    department: Code | None = None
    skills: list[Skill] = []
    accept_minutes: Positive
    resolve_hours: Positive
    urgent_accept_minutes: Positive
    urgent_resolve_hours: Positive
    followup_days: Positive = 7
    followup_visit: bool = False


class KeyHouseholdSpec(Spec):
    """A key household (elderly alone, 六帮六助 family…) with its liaison and visit cadence."""

    household: str = Field(min_length=3, max_length=100)
    kind: Skill
    liaison: Code
    visit_every_days: Positive = 30


class OrgFile(Spec):
    """The whole organisation of one street, as written in the organisation file."""

    street: StreetSpec
    departments: list[DepartmentSpec] = []
    communities: list[CommunitySpec] = []
    people: list[PersonSpec] = []
    teams: list[TeamSpec] = []
    categories: list[CategorySpec] = []
    key_households: list[KeyHouseholdSpec] = []

    def buildings(self) -> list[tuple[str, str, str]]:
        """Return (code, Chinese name, English name) of every building, in file order."""
        return [
            (building.code, building.name.zh, building.name.en)
            for community in self.communities
            for grid in community.grids
            for building in grid.buildings
        ]


# --- reading and checking ---------------------------------------------------------------------


class _OrgLoader(FastSafeLoader):
    """A safe YAML loader that keeps plain scalars as text and refuses duplicate keys.

    Pydantic turns text into numbers and booleans where the schema says so; keeping text
    avoids YAML 1.1 surprises such as room 0101 read as octal 65 or code `no` read as false.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.yaml_implicit_resolvers = {
            **{key: [("tag:yaml.org,2002:null", NULL)] for key in ("", "~", "n", "N")},
            "<": [(MERGE_TAG, MERGE)],
        }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"the key {key!r} is given twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = exc.problem or exc.context or "invalid YAML"
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"invalid YAML: {exc}"


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _pydantic_problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "unknown field (check its spelling and indentation)"
    elif kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = "should be a mapping of key: value"
    elif kind == "list_type":
        message = "should be a list"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    else:
        message = str(error["msg"])
    return f"{_where(tuple(error['loc']))}: {message}"


def parse_org(text: str) -> OrgFile:
    """Parse and validate the text of an organisation file, or raise OrgFileError."""
    try:
        data = yaml.load(text, Loader=_OrgLoader)  # a SafeLoader: builds no Python objects
    except yaml.YAMLError as exc:
        raise OrgFileError([_yaml_problem(exc)]) from exc
    if not isinstance(data, dict):
        raise OrgFileError([f"the file must be a mapping with the keys {TOP_LEVEL_KEYS}"])
    try:
        org = OrgFile.model_validate(data)
    except ValidationError as exc:
        raise OrgFileError([_pydantic_problem(e) for e in exc.errors()]) from exc
    problems = check_org(org)
    if problems:
        raise OrgFileError(problems)
    return org


def load_org_file(path: Path) -> OrgFile:
    """Read, parse and validate an organisation file, or raise OrgFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OrgFileError([f"{path}: the file is not UTF-8 text"]) from exc
    except OSError as exc:
        raise OrgFileError([f"{path}: cannot read the file ({exc.strerror})"]) from exc
    return parse_org(text)


@dataclass(frozen=True)
class PlaceEntry:
    """One place of the file, flattened: its level, parent's code and where it is written."""

    code: str
    kind: PlaceKind
    name: BilingualName
    parent: str | None
    position: int
    depth: int
    path: str
    rooms: tuple[str, ...] = ()


def place_entries(org: OrgFile) -> list[PlaceEntry]:
    """Return every place of the file, widest first, the street's departments after it."""
    street = org.street
    entries = [PlaceEntry(street.code, PlaceKind.STREET, street.name, None, 0, 0, "street")]
    for i, department in enumerate(org.departments):
        entries.append(
            PlaceEntry(
                department.code,
                PlaceKind.DEPARTMENT,
                department.name,
                street.code,
                i,
                1,
                f"departments[{i}]",
            )
        )
    for c, community in enumerate(org.communities):
        c_path = f"communities[{c}]"
        entries.append(
            PlaceEntry(
                community.code, PlaceKind.COMMUNITY, community.name, street.code, c, 1, c_path
            )
        )
        for g, grid in enumerate(community.grids):
            g_path = f"{c_path}.grids[{g}]"
            entries.append(
                PlaceEntry(grid.code, PlaceKind.GRID, grid.name, community.code, g, 2, g_path)
            )
            for b, building in enumerate(grid.buildings):
                b_path = f"{g_path}.buildings[{b}]"
                entries.append(
                    PlaceEntry(
                        building.code, PlaceKind.BUILDING, building.name, grid.code, b, 3, b_path
                    )
                )
                for u, unit in enumerate(building.units):
                    entries.append(
                        PlaceEntry(
                            unit.code,
                            PlaceKind.UNIT,
                            unit.name,
                            building.code,
                            u,
                            4,
                            f"{b_path}.units[{u}]",
                            tuple(unit.room_numbers()),
                        )
                    )
    return entries


def _duplicates(codes: list[tuple[str, str]], what: str) -> Iterator[str]:
    first: dict[str, str] = {}
    for code, path in codes:
        if code in first:
            yield (
                f"{path}.code: duplicate {what} code {code!r} (first at {first[code]}); "
                f"give each {what} its own code"
            )
        else:
            first[code] = path


def _check_roles(org: OrgFile, places: Mapping[str, PlaceEntry]) -> Iterator[str]:
    for p, person in enumerate(org.people):
        seen: set[tuple[Role, str]] = set()
        for r, role in enumerate(person.roles):
            path = f"people[{p}].roles[{r}]"
            place = places.get(role.scope)
            if place is None:
                yield f"{path}.scope: unknown place {role.scope!r}"
            elif role.role == Role.DEPT_LIAISON and place.kind != PlaceKind.DEPARTMENT:
                yield (
                    f"{path}.scope: a dept_liaison must be scoped to a department, "
                    f"and {role.scope!r} is a {place.kind.value}"
                )
            elif role.role != Role.DEPT_LIAISON and place.kind == PlaceKind.DEPARTMENT:
                yield (
                    f"{path}.scope: {role.scope!r} is a department; only a dept_liaison "
                    "may be scoped to a department"
                )
            if (role.role, role.scope) in seen:
                yield f"{path}: {role.role.value} at {role.scope!r} is given twice"
            seen.add((role.role, role.scope))


def _check_teams(org: OrgFile, places: Mapping[str, PlaceEntry], people: set[str]) -> Iterator[str]:
    for t, team in enumerate(org.teams):
        community = places.get(team.community)
        if community is None:
            yield f"teams[{t}].community: unknown community {team.community!r}"
        elif community.kind != PlaceKind.COMMUNITY:
            yield (
                f"teams[{t}].community: {team.community!r} is a {community.kind.value}, "
                "not a community"
            )
        seen: set[str] = set()
        for m, member in enumerate(team.members):
            if member not in people:
                yield f"teams[{t}].members[{m}]: unknown person {member!r}"
            elif member in seen:
                yield f"teams[{t}].members[{m}]: {member!r} is listed twice"
            seen.add(member)


def _check_categories(org: OrgFile, places: Mapping[str, PlaceEntry]) -> Iterator[str]:
    for c, category in enumerate(org.categories):
        path = f"categories[{c}]"
        if category.kind == CategoryKind.ROUTED:
            if category.role is not None and category.role not in ROUTABLE_ROLES:
                allowed = ", ".join(sorted(r.value for r in ROUTABLE_ROLES))
                yield (
                    f"{path}.role: a {category.role.value} does not take orders; use one of "
                    f"{allowed}, or leave the role out to send orders to the dispatcher"
                )
            if category.role == Role.DEPT_LIAISON and category.department is None:
                yield f"{path}.department: a category routed to dept_liaison needs a department"
            if category.skills:
                yield f"{path}.skills: skills apply to pool categories only"
        else:
            if not category.skills:
                yield f"{path}.skills: a pool category needs at least one skill"
            if category.role is not None:
                yield (
                    f"{path}.role: a pool category goes to volunteers by skill; leave the role out"
                )
        if category.department is not None:
            department = places.get(category.department)
            if department is None:
                yield f"{path}.department: unknown department {category.department!r}"
            elif department.kind != PlaceKind.DEPARTMENT:
                yield (
                    f"{path}.department: {category.department!r} is a "
                    f"{department.kind.value}, not a department"
                )
        if category.urgent_accept_minutes > category.accept_minutes:
            yield f"{path}.urgent_accept_minutes: must not be longer than accept_minutes"
        if category.urgent_resolve_hours > category.resolve_hours:
            yield f"{path}.urgent_resolve_hours: must not be longer than resolve_hours"


def _check_key_households(
    org: OrgFile, places: Mapping[str, PlaceEntry], people: set[str]
) -> Iterator[str]:
    seen: set[str] = set()
    for k, key in enumerate(org.key_households):
        path = f"key_households[{k}]"
        unit_code, slash, room = key.household.partition("/")
        unit = places.get(unit_code)
        if not slash or not room:
            yield f"{path}.household: write it as unit-code/room, like b-1-u1/101"
        elif unit is None:
            yield f"{path}.household: unknown unit {unit_code!r}"
        elif unit.kind != PlaceKind.UNIT:
            yield f"{path}.household: {unit_code!r} is a {unit.kind.value}, not a unit"
        elif room not in unit.rooms:
            yield f"{path}.household: unit {unit_code!r} has no room {room!r}"
        elif key.household in seen:
            yield f"{path}.household: {key.household!r} is listed twice"
        seen.add(key.household)
        if key.liaison not in people:
            yield f"{path}.liaison: unknown person {key.liaison!r}"


def check_org(org: OrgFile) -> list[str]:
    """Return every broken cross-reference of a structurally valid file, in file order."""
    entries = place_entries(org)
    problems = list(_duplicates([(e.code, e.path) for e in entries], "place"))
    others = list(
        _duplicates([(p.code, f"people[{i}]") for i, p in enumerate(org.people)], "person")
    )
    others += _duplicates([(t.code, f"teams[{i}]") for i, t in enumerate(org.teams)], "team")
    others += _duplicates(
        [(c.code, f"categories[{i}]") for i, c in enumerate(org.categories)], "category"
    )
    if problems:
        # Every reference to a place goes by its code: until each code names one place, what
        # refers to places cannot be checked (a copy left with the old code would make every
        # reference to its intended code read as "unknown community").
        return problems + others
    places: dict[str, PlaceEntry] = {}
    for entry in entries:
        places.setdefault(entry.code, entry)
        if entry.kind == PlaceKind.BUILDING and len(entry.code) > MAX_BUILDING_CODE:
            problems.append(
                f"{entry.path}.code: a building code may have at most {MAX_BUILDING_CODE} "
                "characters, as it goes into the building's QR link"
            )
    problems += others
    people = {p.code for p in org.people}
    problems += _check_roles(org, places)
    problems += _check_teams(org, places, people)
    problems += _check_categories(org, places)
    problems += _check_key_households(org, places, people)
    return problems


def org_warnings(org: OrgFile) -> list[str]:
    """Return what is allowed but likely unintended: unoffered skills, undispatched communities."""
    warnings: list[str] = []
    offered = {skill for team in org.teams for skill in team.skills}
    for c, category in enumerate(org.categories):
        if category.kind == CategoryKind.POOL and not offered & set(category.skills):
            warnings.append(
                f"categories[{c}].skills: no team offers {', '.join(category.skills)}; "
                "its orders will wait in the dispatcher's queue"
            )
    dispatched = {
        role.scope for person in org.people for role in person.roles if role.role == Role.DISPATCHER
    }
    if org.street.code not in dispatched:
        for c, community in enumerate(org.communities):
            if community.code not in dispatched:
                warnings.append(
                    f"communities[{c}]: nobody is a dispatcher of {community.code!r} "
                    "or of the street"
                )
    return warnings


# --- importing --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What an import did to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def line(self, kind: str) -> str:
        """Return a line like 'places: 3 created, 1 updated, 40 unchanged'."""
        text = f"{kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.removed} removed" if self.removed else "")


@dataclass
class ImportReport:
    """Counts of what an import created, updated, left alone and removed, by kind of row."""

    street: str
    places: Tally = field(default_factory=Tally)
    households: Tally = field(default_factory=Tally)
    people: Tally = field(default_factory=Tally)
    roles: Tally = field(default_factory=Tally)
    teams: Tally = field(default_factory=Tally)
    team_members: Tally = field(default_factory=Tally)
    categories: Tally = field(default_factory=Tally)
    key_households: Tally = field(default_factory=Tally)
    warnings: list[str] = field(default_factory=list)
    # Per person whose roles or teams the file took away: what went and what moved on.
    staff: list[list[str]] = field(default_factory=list)
    dry_run: bool = False

    def tallies(self) -> dict[str, Tally]:
        """Return the tallies by kind, in the order the import writes them."""
        return {
            "places": self.places,
            "households": self.households,
            "people": self.people,
            "roles": self.roles,
            "teams": self.teams,
            "team members": self.team_members,
            "categories": self.categories,
            "key households": self.key_households,
        }

    @property
    def changed(self) -> bool:
        """Return whether the import changed anything at all."""
        return bool(self.staff) or any(
            t.created or t.updated or t.removed for t in self.tallies().values()
        )

    def lines(self) -> list[str]:
        """Return the report in English: one line per kind, what staff lost, then warnings."""
        if self.dry_run:
            done = (
                "dry run, nothing was changed; an import would change this"
                if self.changed
                else "dry run, an import would change nothing"
            )
        else:
            done = "imported" if self.changed else "no changes"
        lines = [f"street {self.street}: {done}"]
        lines += [tally.line(kind) for kind, tally in self.tallies().items()]
        if self.staff:
            lines.append("staff whose roles were taken away (the file is the truth for staff):")
            for person in self.staff:
                lines.append(f"  {person[0]}")
                lines += [f"    {line}" for line in person[1:]]
        lines += [f"warning: {warning}" for warning in self.warnings]
        return lines


def _assign(row: object, values: Mapping[str, object]) -> bool:
    """Set the row's attributes that differ; return whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _upsert(
    session: AsyncSession,
    existing: dict[str, RowT],
    code: str,
    values: Mapping[str, object],
    make: Callable[..., RowT],
    tally: Tally,
) -> RowT:
    row = existing.get(code)
    if row is None:
        row = make(code=code, **values)
        session.add(row)
        existing[code] = row
        tally.created += 1
    elif _assign(row, values):
        tally.updated += 1
    else:
        tally.unchanged += 1
    return row


async def _write_places(
    session: AsyncSession, entries: list[PlaceEntry], report: ImportReport
) -> dict[str, int]:
    existing = {row.code: row for row in await session.scalars(select(PlaceRow))}
    clashes = [
        f"{e.path}.code: {e.code!r} is a {existing[e.code].kind} in the database, "
        f"not a {e.kind.value}; give the {e.kind.value} a new code"
        for e in entries
        if e.code in existing and existing[e.code].kind != e.kind.value
    ]
    if clashes:
        raise OrgFileError(clashes)
    ids: dict[str, int] = {}
    for depth in range(max(e.depth for e in entries) + 1):
        level = [e for e in entries if e.depth == depth]
        rows = [
            _upsert(
                session,
                existing,
                e.code,
                {
                    "kind": e.kind.value,
                    "name_zh": e.name.zh,
                    "name_en": e.name.en,
                    "parent_id": ids[e.parent] if e.parent is not None else None,
                    "position": e.position,
                },
                PlaceRow,
                report.places,
            )
            for e in level
        ]
        await session.flush()
        ids.update({e.code: row.id for e, row in zip(level, rows, strict=True)})
    return ids


async def _write_households(
    session: AsyncSession,
    org: OrgFile,
    entries: list[PlaceEntry],
    ids: Mapping[str, int],
    report: ImportReport,
) -> None:
    units = {ids[e.code]: e for e in entries if e.kind == PlaceKind.UNIT}
    keys = {k.household for k in org.key_households}
    existing = {
        (row.unit_id, row.room): row
        for row in await session.scalars(select(HouseholdRow))
        if row.unit_id in units
    }
    for unit_id, unit in units.items():
        for room in unit.rooms:
            is_key = f"{unit.code}/{room}" in keys
            row = existing.pop((unit_id, room), None)
            if row is None:
                session.add(HouseholdRow(unit_id=unit_id, room=room, is_key=is_key))
                report.households.created += 1
            elif _assign(row, {"is_key": is_key}):
                report.households.updated += 1
            else:
                report.households.unchanged += 1
    # Rooms no longer in the file are kept (residents and orders refer to them), but not as key.
    for row in existing.values():
        if row.is_key:
            row.is_key = False
            report.households.updated += 1


async def _write_people(
    session: AsyncSession, org: OrgFile, report: ImportReport
) -> dict[str, int]:
    existing = {
        row.code: row
        for row in await session.scalars(select(PersonRow).where(PersonRow.code.is_not(None)))
        if row.code is not None
    }
    rows = [
        _upsert(
            session,
            existing,
            person.code,
            # The language is the file's only until the person picks their own with /lang.
            {"name": person.name, "phone": person.phone, "digest_time": person.digest_time}
            | ({} if person.code in existing else {"lang": person.lang}),
            PersonRow,
            report.people,
        )
        for person in org.people
    ]
    await session.flush()
    return {person.code: row.id for person, row in zip(org.people, rows, strict=True)}


async def _write_teams(
    session: AsyncSession, org: OrgFile, places: Mapping[str, int], report: ImportReport
) -> dict[str, int]:
    existing = {row.code: row for row in await session.scalars(select(TeamRow))}
    rows = [
        _upsert(
            session,
            existing,
            team.code,
            {
                "name_zh": team.name.zh,
                "name_en": team.name.en,
                "community_id": places[team.community],
                "skills": list(team.skills),
            },
            TeamRow,
            report.teams,
        )
        for team in org.teams
    ]
    await session.flush()
    return {team.code: row.id for team, row in zip(org.teams, rows, strict=True)}


@dataclass(frozen=True)
class Staffed:
    """Who the import may take roles from: coded people, at places of this file's street."""

    listed: set[int]  # the people the file lists
    unlisted: set[int]  # people with a code the file no longer lists (residents have none)
    street: set[int]  # ids of every place under the street, in the file or kept from before
    codes: dict[int, str]  # place id -> code, for the report


async def _staffed(
    session: AsyncSession, org: OrgFile, places: Mapping[str, int], people: Mapping[str, int]
) -> Staffed:
    rows = list(await session.scalars(select(PlaceRow)))
    parents = {row.id: row.parent_id for row in rows}
    top = places[org.street.code]

    def in_street(place_id: int | None) -> bool:
        seen: set[int] = set()
        while place_id is not None and place_id not in seen:
            if place_id == top:
                return True
            seen.add(place_id)
            place_id = parents.get(place_id)
        return False

    coded = set(await session.scalars(select(PersonRow.id).where(PersonRow.code.is_not(None))))
    listed = set(people.values())
    return Staffed(
        listed,
        coded - listed,
        {row.id for row in rows if in_street(row.id)},
        {row.id: row.code for row in rows},
    )


async def _write_roles(
    session: AsyncSession,
    org: OrgFile,
    places: Mapping[str, int],
    people: Mapping[str, int],
    staffed: Staffed,
    report: ImportReport,
) -> dict[int, list[str]]:
    """Make the roles of the street's staff what the file says; return what each one lost."""
    wanted: set[tuple[int, str, int]] = {
        (people[person.code], role.role.value, places[role.scope])
        for person in org.people
        for role in person.roles
    }
    # Every team member volunteers in the team's community.
    wanted |= {
        (people[member], Role.VOLUNTEER.value, places[team.community])
        for team in org.teams
        for member in team.members
    }
    lost: dict[int, list[str]] = {}
    for row in await session.scalars(select(RoleRow).order_by(RoleRow.id)):
        # Someone the file no longer lists loses the roles they held in this street.
        dropped = row.person_id in staffed.unlisted and row.place_id in staffed.street
        if row.person_id not in staffed.listed and not dropped:
            continue
        key = (row.person_id, row.role, row.place_id)
        if key in wanted:
            wanted.discard(key)
            report.roles.unchanged += 1
        else:
            await session.delete(row)
            report.roles.removed += 1
            place = staffed.codes.get(row.place_id, str(row.place_id))
            lost.setdefault(row.person_id, []).append(f"{row.role} at {place}")
    for person_id, role, place_id in sorted(wanted):
        session.add(RoleRow(person_id=person_id, role=role, place_id=place_id))
        report.roles.created += 1
    return lost


async def _write_team_members(
    session: AsyncSession,
    org: OrgFile,
    teams: Mapping[str, int],
    people: Mapping[str, int],
    staffed: Staffed,
    report: ImportReport,
) -> dict[int, list[str]]:
    """Make the street's teams' members what the file says; return the teams each one left."""
    wanted = {(teams[team.code], people[member]) for team in org.teams for member in team.members}
    team_rows = {row.id: row for row in await session.scalars(select(TeamRow))}
    left: dict[int, list[str]] = {}
    for row in await session.scalars(select(TeamMemberRow)):
        team = team_rows.get(row.team_id)
        dropped = (
            row.person_id in staffed.unlisted
            and team is not None
            and team.community_id in staffed.street
        )
        if row.person_id not in staffed.listed and not dropped:
            continue
        key = (row.team_id, row.person_id)
        if key in wanted:
            wanted.discard(key)
            report.team_members.unchanged += 1
        else:
            await session.delete(row)
            report.team_members.removed += 1
            left.setdefault(row.person_id, []).append(team.code if team else str(row.team_id))
    for team_id, person_id in sorted(wanted):
        session.add(TeamMemberRow(team_id=team_id, person_id=person_id))
        report.team_members.created += 1
    return left


async def _write_categories(
    session: AsyncSession, org: OrgFile, places: Mapping[str, int], report: ImportReport
) -> None:
    existing = {row.code: row for row in await session.scalars(select(CategoryRow))}
    for position, category in enumerate(org.categories):
        _upsert(
            session,
            existing,
            category.code,
            {
                "name_zh": category.name.zh,
                "name_en": category.name.en,
                "kind": category.kind.value,
                "role": category.role.value if category.role is not None else None,
                "skills": list(category.skills),
                "department_id": (
                    places[category.department] if category.department is not None else None
                ),
                "accept_minutes": category.accept_minutes,
                "resolve_hours": category.resolve_hours,
                "urgent_accept_minutes": category.urgent_accept_minutes,
                "urgent_resolve_hours": category.urgent_resolve_hours,
                "followup_days": category.followup_days,
                "followup_visit": category.followup_visit,
                "position": position,
            },
            CategoryRow,
            report.categories,
        )


async def _write_key_households(
    session: AsyncSession,
    org: OrgFile,
    places: Mapping[str, int],
    people: Mapping[str, int],
    report: ImportReport,
) -> None:
    await session.flush()
    rooms = {
        (row.unit_id, row.room): row.id
        for row in await session.scalars(
            select(HouseholdRow).where(HouseholdRow.unit_id.in_(list(places.values())))
        )
    }
    existing = {row.household_id: row for row in await session.scalars(select(KeyHouseholdRow))}
    wanted: set[int] = set()
    for key in org.key_households:
        unit_code, _, room = key.household.partition("/")
        household_id = rooms[(places[unit_code], room)]
        wanted.add(household_id)
        values = {
            "kind": key.kind,
            "liaison_id": people[key.liaison],
            "visit_every_days": key.visit_every_days,
        }
        row = existing.get(household_id)
        if row is None:
            session.add(KeyHouseholdRow(household_id=household_id, **values))
            report.key_households.created += 1
        elif _assign(row, values):
            report.key_households.updated += 1
        else:
            report.key_households.unchanged += 1
    # A household the file no longer lists as key gets no more visit tasks.
    for household_id, row in existing.items():
        if household_id not in wanted:
            await session.delete(row)
            report.key_households.removed += 1


class _WallClock:
    """The wall clock, for imports run without one (the command line)."""

    def now(self) -> datetime:
        """Return the current time, UTC."""
        return datetime.now(UTC)


async def _household_name(session: AsyncSession, household_id: int) -> str:
    """Return a household as the file writes it: unit-code/room."""
    row = await session.get(HouseholdRow, household_id)
    if row is None:
        return f"household {household_id}"
    unit = await session.get(PlaceRow, row.unit_id)
    return f"{unit.code if unit else row.unit_id}/{row.room}"


HANDED_OVER = {
    Outcome.REOFFERED: "offer withdrawn, now offered to {to}",
    Outcome.QUEUED: "taken back, now in the dispatcher's queue",
    Outcome.POOL_DROPPED: "no longer offered to them in the pool",
    Outcome.POOL_QUEUED: "no longer offered in the pool; nobody else was, so it is in the queue",
}


async def _staff_lines(
    session: AsyncSession,
    code: str,
    release: Release,
    lost: list[str],
    left: list[str],
    listed: bool,
) -> list[str]:
    """Return the report of one person: what was taken away, where their work went."""
    person = release.person
    lines = [f"{code} {person.name}" + ("" if listed else " (no longer in the file)")]
    if lost:
        lines.append("roles taken away: " + ", ".join(lost))
    if left:
        lines.append("teams left: " + ", ".join(left))
    for h in release.handovers:
        lines.append(f"order {h.number} ({h.was.value}): " + HANDED_OVER[h.outcome].format(to=h.to))
    for key in release.key_households:
        household = await _household_name(session, key.household_id)
        lines.append(
            f"key household {household}: they are still its liaison but hold no role; "
            "visits still go to them until the file names another liaison"
        )
    for visit in release.open_visits:
        household = await _household_name(session, visit.household_id)
        lines.append(
            f"visit to {household} due {visit.due_at:%Y-%m-%d}: still open and theirs; "
            "they can no longer log it, so it will be reported missed"
        )
    return lines


async def import_org(
    sessions: async_sessionmaker[AsyncSession],
    org: OrgFile,
    *,
    clock: Clock | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Write the organisation in one transaction, matching rows by code; on error change nothing.

    Places, households, people, teams and categories are created or updated in place by code
    (households by unit and room), so importing the same file twice changes nothing. A person's
    telegram account, household, reachability and (once created) language are never touched;
    name and phone come from the file. The file is the truth for staff: roles and team
    memberships it no longer gives are removed, from the people it lists and, at places of its
    street, from people with a code it no longer lists (residents have no code and are left
    alone); every team member also gets the volunteer role in the team's community. Work the
    remaining roles no longer cover moves on (workflows.staffing) and the report says, per
    person, what was taken and where it went. Places, households, categories, teams and people
    missing from the file are kept, because orders and residents refer to them; households not
    listed as key lose that mark, and their key-household entry (liaison, kind, visit cadence)
    is removed, so no more visit tasks are planned for them. With `dry_run` everything is done
    and reported, then rolled back.
    """
    problems = check_org(org)
    if problems:
        raise OrgFileError(problems)
    report = ImportReport(street=org.street.code, warnings=org_warnings(org), dry_run=dry_run)
    entries = place_entries(org)
    clock = clock or _WallClock()
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        session = uow.session
        places = await _write_places(session, entries, report)
        await _write_households(session, org, entries, places, report)
        people = await _write_people(session, org, report)
        teams = await _write_teams(session, org, places, report)
        staffed = await _staffed(session, org, places, people)
        lost = await _write_roles(session, org, places, people, staffed, report)
        left = await _write_team_members(session, org, teams, people, staffed, report)
        await _write_categories(session, org, places, report)
        await _write_key_households(session, org, places, people, report)
        await session.flush()
        codes = {person_id: code for code, person_id in people.items()}
        for person_id in sorted(lost.keys() | left.keys()):
            release = await release_work(uow, clock, person_id)
            if release is None:
                continue
            row = await session.get(PersonRow, person_id)
            code = codes.get(person_id) or (row.code if row and row.code else str(person_id))
            report.staff.append(
                await _staff_lines(
                    session,
                    code,
                    release,
                    lost.get(person_id, []),
                    left.get(person_id, []),
                    person_id in staffed.listed,
                )
            )
        session.add(
            AuditRow(
                at=clock.now(),
                actor="cli",
                action="import",
                subject=f"street {org.street.code}",
                details={
                    kind: [t.created, t.updated, t.removed] for kind, t in report.tallies().items()
                }
                | ({"staff": [lines[0] for lines in report.staff]} if report.staff else {}),
            )
        )
        if dry_run:
            await uow.rollback()
        else:
            await uow.complete()
    return report
