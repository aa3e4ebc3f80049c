"""Whose orders a staff member may see on the console: the chat's rules, as one SQL condition.

`workflows.supervision.powers` decides one order at a time: supervisors and dispatchers of its
community (or of the street above it), staff with a working role at a place that contains its
household (community, grid, building, unit), the department liaison of its category, and whoever
holds it. `reach_of` turns the same rules into a `Reach` the board's query filters by; the order
page still asks `look_up` itself, so a URL typed by hand is judged exactly as in chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.board import Reach
from workflows.dispatch import NOT_WORKING
from workflows.model import Person, Place, PlaceKind, Role
from workflows.ports import UnitOfWork


@dataclass(frozen=True)
class Viewer:
    """A signed-in staff member with what the console lets them see."""

    person: Person
    reach: Reach
    communities: tuple[Place, ...]  # the communities their board may be filtered by
    supervises: tuple[int, ...]  # communities they supervise or dispatch for (people, reports)
    admin: bool

    @property
    def lang(self) -> str:
        """Return the language the console speaks to them."""
        return self.person.lang if self.person.lang in ("zh", "en") else "zh"

    @property
    def may_audit(self) -> bool:
        """Return whether they may read the audit log (supervisors and administrators)."""
        return self.admin or self.person.has_role(Role.SUPERVISOR)

    @property
    def may_report(self) -> bool:
        """Return whether they may see reports and staff lists (supervisors and dispatchers)."""
        return self.admin or bool(self.supervises)


async def _communities_under(uow: UnitOfWork, place: Place) -> list[Place]:
    """Return the communities a place stands for: a street's, or the community itself."""
    if place.kind == PlaceKind.STREET:
        return await uow.places.children(place.id, PlaceKind.COMMUNITY)
    if place.kind == PlaceKind.COMMUNITY:
        return [place]
    return []


async def viewer_of(uow: UnitOfWork, person: Person) -> Viewer:
    """Return what a staff member may see, by their roles, as in chat."""
    whole: dict[int, Place] = {}  # communities whose every order they see
    supervised: dict[int, Place] = {}
    buildings: set[int] = set()
    units: set[int] = set()
    departments: set[int] = set()
    admin = False
    for role in person.roles:
        place = await uow.places.get(role.place_id)
        if place is None:
            continue
        if role.role == Role.ADMIN:
            admin = True
            continue
        if role.role in (Role.SUPERVISOR, Role.DISPATCHER):
            for community in await _communities_under(uow, place):
                whole[community.id] = community
                supervised[community.id] = community
            continue
        if role.role in (*NOT_WORKING, Role.VOLUNTEER):
            continue  # a volunteer sees only what they hold
        if role.role == Role.DEPT_LIAISON:
            departments.add(place.id)
        elif place.kind == PlaceKind.COMMUNITY:
            whole[place.id] = place
        elif place.kind == PlaceKind.GRID:
            buildings.update(b.id for b in await uow.places.children(place.id, PlaceKind.BUILDING))
        elif place.kind == PlaceKind.BUILDING:
            buildings.add(place.id)
        elif place.kind == PlaceKind.UNIT:
            units.add(place.id)
    categories = [c.id for c in await uow.categories.list() if c.department_id in departments]
    reach = Reach(
        person.id,
        community_ids=tuple(sorted(whole)),
        building_ids=tuple(sorted(buildings)),
        unit_ids=tuple(sorted(units)),
        category_ids=tuple(sorted(categories)),
    )
    shown = dict(whole)
    for community_id in await _communities_of_places(uow, buildings | units):
        if community_id not in shown:
            found = await uow.places.get(community_id)
            if found is not None:
                shown[community_id] = found
    return Viewer(
        person,
        reach,
        tuple(sorted(shown.values(), key=lambda p: p.id)),
        tuple(sorted(supervised)),
        admin,
    )


async def _communities_of_places(uow: UnitOfWork, place_ids: set[int]) -> set[int]:
    """Return the communities the given buildings and units are in."""
    found: set[int] = set()
    for place_id in place_ids:
        place = await uow.places.get(place_id)
        while place is not None and place.kind != PlaceKind.COMMUNITY:
            place = await uow.places.get(place.parent_id) if place.parent_id else None
        if place is not None:
            found.add(place.id)
    return found
