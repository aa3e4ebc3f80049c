"""Command menus per role, and the help text each person sees."""

from __future__ import annotations

from handlers.events import SetCommands
from handlers.texts import Texts
from workflows.model import Person, Role
from workflows.notices import SENDER_ROLES
from workflows.rounds import ROUND_ROLES

RESIDENT_COMMANDS = ("new", "my", "lang", "help", "cancel")
WORKER_ROLES = (
    Role.UNIT_HEAD,
    Role.BUILDING_HEAD,
    Role.GRID_WORKER,
    Role.COMMUNITY_CADRE,
    Role.DEPT_LIAISON,
    Role.VOLUNTEER,
)

# notices (issue 17): who may send notices.
NOTICE_ROLES = SENDER_ROLES

# The reply keyboard under a resident's chat: nothing to type (catalog keys, rows).
RESIDENT_MENU = (("menu.report", "menu.my"), ("menu.ask", "menu.help"), ("menu.call_back",))
# What each menu button does: the command it stands for, or a step of its own (handlers/intake).
MENU_COMMANDS = {
    "menu.report": "new",
    "menu.my": "my",
    "menu.help": "help",
    "menu.tasks": "tasks",
    "menu.pool": "pool",
    "menu.queue": "queue",
    "menu.stats": "stats",
    "menu.round": "round",  # rounds (issue 17)
    "menu.notice": "notice",  # notices (issue 17): staff who may send notices
}
MENU_KEYS = (*MENU_COMMANDS, "menu.ask", "menu.call_back")


def menu_keys(person: Person | None) -> tuple[tuple[str, ...], ...]:
    """Return the rows of a person's menu keyboard (catalog keys): by their roles and home."""
    if person is None:
        return ()
    if not person.is_staff:
        return RESIDENT_MENU
    work: list[str] = []
    if person.has_role(*WORKER_ROLES):
        work.append("menu.tasks")
    if person.has_role(Role.VOLUNTEER):
        work.append("menu.pool")
    if person.has_role(Role.DISPATCHER):
        work.append("menu.queue")
    if person.has_role(Role.SUPERVISOR):
        work.append("menu.stats")
    if person.has_role(*ROUND_ROLES):
        work.append("menu.round")  # rounds (issue 17)
    if person.has_role(*NOTICE_ROLES):
        work.append("menu.notice")
    keys = [tuple(work[i : i + 2]) for i in range(0, len(work), 2)]
    if person.household_id is not None:
        keys.append(("menu.report", "menu.my"))
    keys.append(("menu.help",))
    return tuple(keys)


def menu_rows(texts: Texts, lang: str, person: Person | None) -> tuple[tuple[str, ...], ...]:
    """Return a person's menu keyboard in their language."""
    return tuple(tuple(texts(lang, key) for key in row) for row in menu_keys(person))


def menu_pressed(texts: Texts, text: str | None) -> str | None:
    """Return the menu key whose button sends exactly this text, in any language; else None."""
    if not text:
        return None
    for lang in texts.languages():
        for key in MENU_KEYS:
            if texts(lang, key) == text:
                return key
    return None


def commands_for(person: Person | None) -> tuple[str, ...]:
    """Return the commands a person's menu shows, by their roles."""
    names: list[str] = []
    if person is not None and person.has_role(*WORKER_ROLES):
        names.append("tasks")
    if person is not None and person.has_role(Role.VOLUNTEER):
        names.append("pool")
    if person is not None and person.has_role(Role.DISPATCHER):
        names.append("queue")
    if person is not None and person.has_role(Role.SUPERVISOR):
        names.append("stats")
    if person is not None and person.has_role(*ROUND_ROLES):
        names.append("round")  # rounds (issue 17)
    if person is not None and person.has_role(Role.DISPATCHER):
        names.append("merge")  # behalf (issue 16): one command per thing staff can do
    if person is not None and person.has_role(*NOTICE_ROLES):
        names.extend(["notice", "notices"])  # notices (issue 17)
    if person is not None and person.is_staff:
        names.append("order")
        if not all(r.role == Role.VOLUNTEER for r in person.roles):
            names.append("behalf")
    if person is None or person.household_id is not None or not person.is_staff:
        names.extend(["new", "my"])
        if person is not None:
            names.append("ask")
    names.extend(["lang", "help", "cancel"])
    return tuple(names)


def menu(texts: Texts, lang: str, names: tuple[str, ...], chat_id: int | None) -> SetCommands:
    """Return the command menu in a language."""
    return SetCommands(
        tuple((name, texts(lang, f"cmd.{name}")) for name in names),
        chat_id=chat_id,
        language=None if chat_id is not None else lang,
    )


def default_menus(texts: Texts) -> list[SetCommands]:
    """Return the menus everyone sees before registering, per language."""
    menus = [menu(texts, lang, RESIDENT_COMMANDS, None) for lang in texts.languages()]
    menus.append(
        SetCommands(
            tuple((n, texts(texts.fallback, f"cmd.{n}")) for n in RESIDENT_COMMANDS), None, None
        )
    )
    return menus


def person_menu(texts: Texts, person: Person) -> SetCommands:
    """Return the menu for one person's chat, in their language."""
    assert person.telegram_id is not None
    return menu(texts, person.lang, commands_for(person), person.telegram_id)


def help_key(person: Person | None) -> list[str]:
    """Return the help sections for what a person's roles allow: staff's own work first.

    Staff see the residents' commands only for a household of their own, and never /forget
    (their account belongs to the organisation file, not to them).
    """
    if person is None or not person.is_staff:
        return ["help.resident"]
    keys: list[str] = []
    if person.has_role(*WORKER_ROLES):
        keys.append("help.worker")
    if person.has_role(Role.VOLUNTEER):
        keys.append("help.volunteer")
    if person.has_role(Role.DISPATCHER):
        keys.append("help.dispatcher")
    if person.has_role(Role.SUPERVISOR):
        keys.append("help.supervisor")
    if person.has_role(*ROUND_ROLES):
        keys.append("round.help")  # rounds (issue 17)
    if person.has_role(*NOTICE_ROLES):
        keys.append("notice.help")  # notices (issue 17)
    keys.append("lookup.help")  # /order 00042: any order in their scope, with its timeline
    keys.append("help.staff_home" if person.household_id is not None else "help.staff_no_home")
    keys.append("help.staff_common")
    return keys
