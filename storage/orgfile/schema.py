"""The organisation file's shape: pydantic models of each part, with their own checks."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from workflows.model import CategoryKind, Role
from workflows.worktime import WorkingHours

CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SKILL = re.compile(r"[a-z0-9_]{1,32}")
CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


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


def _channel_id(value: object) -> object:
    """Read a channel's numeric id, also when quoted; explain what a @name needs instead."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("@"):
            raise ValueError(
                f"{text!r}: give the channel's numeric id (it starts with -100), not its @name: "
                "the bot posts by id, and a channel's @name may change; forward a post of the "
                "channel to a bot such as @getidsbot to see the id"
            )
        if text.lstrip("-").isdigit():
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        raise ValueError(f"{value}: a channel's id is negative (it starts with -100)")
    return value


Code = Annotated[str, AfterValidator(_code)]
Skill = Annotated[str, AfterValidator(_skill)]
Room = Annotated[
    str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=32), AfterValidator(_room)
]
Phone = Annotated[str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=32)]
Positive = Annotated[int, Field(gt=0)]


def _working_hours(value: str) -> str:
    try:
        WorkingHours.parse(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not valid working hours: write periods of the day like "
            "08:30-12:00, 13:30-17:30, in order"
        ) from None
    return value


WorkingHoursText = Annotated[str, AfterValidator(_working_hours)]


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
    # When the street works, for categories whose deadlines count working time; unset: the
    # default 08:30-12:00, 13:30-17:30. Closed days are taken out of every community's calendar.
    working_hours: WorkingHoursText | None = None
    closed_days: list[date] = []


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
    # Its own working hours (unset: the street's) and closed days (added to the street's).
    working_hours: WorkingHoursText | None = None
    closed_days: list[date] = []
    # The community's duty phone (值班电话), shown to a resident who chooses "urgent".
    duty_phone: Phone | None = None
    # publicity (issue 17): the community's 公示 channel, where the bot (an admin of it) posts
    # each closed order, anonymised, and the monthly summary; Telegram's numeric id (-100…).
    channel: Annotated[int | None, BeforeValidator(_channel_id)] = None


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
    # clocks (issue 15): the local hours a volunteer or unit head takes normal tasks
    # ("08:00-20:00"); outside them only urgent orders reach them. Unset: any time.
    on_duty: WorkingHoursText | None = None
    # publicity (issue 17): they agreed to be named in public: their name and phone on the
    # building's 亮身份 poster, their name on the monthly honour list (笑脸墙). Unset: never.
    public: bool = False

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
    # publicity (issue 17): the team's leader (a person code), who sees its work with /team.
    leader: Code | None = None


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
    # Normal orders' deadlines count working time (the community's working hours on working
    # days: not weekends, public holidays or closed days; 调休 weekend days work); urgent
    # orders always count calendar time.
    working_time: bool = False
    # moves (issue 15): a resident's new order is first shown the open orders of the category
    # in their building placed in the last days ("the same thing?"); 0 never asks.
    duplicate_days: int = Field(3, ge=0, le=30)
    # Words in what a resident writes freely that suggest this category ("漏水", "停电").
    keywords: list[Annotated[str, Field(min_length=1, max_length=20)]] = []
    # clocks (issue 15): how long an order may wait in the dispatcher's queue (minutes) and
    # unclaimed in the volunteers' pool (hours), normal and urgent; counted like the others.
    queue_minutes: Positive = 60
    urgent_queue_minutes: Positive = 15
    pool_hours: Positive = 24
    urgent_pool_hours: Positive = 2


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
