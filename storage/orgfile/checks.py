"""Checking the organisation file as a whole: codes given once, references that resolve."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from storage.orgfile.schema import BilingualName, OrgFile
from workflows.model import CategoryKind, PlaceKind, Role

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
    working_hours: str | None = None
    closed_days: tuple[str, ...] = ()
    duty_phone: str | None = None
    channel: int | None = None  # publicity (issue 17): a community's 公示 channel


def place_entries(org: OrgFile) -> list[PlaceEntry]:
    """Return every place of the file, widest first, the street's departments after it."""
    street = org.street
    street_closed = {day.isoformat() for day in street.closed_days}
    entries = [
        PlaceEntry(
            street.code,
            PlaceKind.STREET,
            street.name,
            None,
            0,
            0,
            "street",
            working_hours=street.working_hours,
            closed_days=tuple(sorted(street_closed)),
        )
    ]
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
                community.code,
                PlaceKind.COMMUNITY,
                community.name,
                street.code,
                c,
                1,
                c_path,
                # A community keeps what it inherits: deadlines then read only the community.
                working_hours=community.working_hours or street.working_hours,
                closed_days=tuple(
                    sorted(street_closed | {day.isoformat() for day in community.closed_days})
                ),
                duty_phone=community.duty_phone,
                channel=community.channel,
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
        if team.leader is not None and team.leader not in people:
            yield f"teams[{t}].leader: unknown person {team.leader!r}"


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
        if category.urgent_queue_minutes > category.queue_minutes:
            yield f"{path}.urgent_queue_minutes: must not be longer than queue_minutes"
        if category.urgent_pool_hours > category.pool_hours:
            yield f"{path}.urgent_pool_hours: must not be longer than pool_hours"


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
