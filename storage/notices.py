"""The writing side of the outbox: notices addressed to a chat, cards taken back, erasure.

storage/outbox.py is the delivery side: what is due, claiming it, and recording how it went.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, delete, insert, or_, select, update
from sqlalchemy import cast as cast_as
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxRow, PersonRow, SendSlotRow, db_epoch
from workflows.model import Notice, SentCopy, Traces
from workflows.vocabulary import Target, Verb

# Prebuilt Core statements: see storage/people.py for why the reads every update makes are
# not built each time.
_PEOPLE = cast(Table, PersonRow.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)
_SLOTS = cast(Table, SendSlotRow.__table__)
RECIPIENT = select(_PEOPLE.c.id, _PEOPLE.c.telegram_id, _PEOPLE.c.lang).where(
    _PEOPLE.c.id == bindparam("person_id")
)
ADD_TO_OUTBOX = insert(_OUTBOX)
# Set in the session's `info` by every write to the outbox: its commit then wakes delivery
# (storage/uow.py); a commit that queued nothing does not.
OUTBOX_WRITTEN = "outbox_written"


def outbox_written(session: AsyncSession) -> None:
    """Note that this session's transaction wrote to the outbox."""
    session.info[OUTBOX_WRITTEN] = True


# A card taken back: its unsent copies not being sent right now (no live claim) are dropped…
_ABOUT = _OUTBOX.c.ref.in_(bindparam("refs", expanding=True))
_NOT_TO = _OUTBOX.c.person_id != bindparam("except_person")
_UNSENT = (
    _OUTBOX.c.sent_at.is_(None),
    _OUTBOX.c.failed_at.is_(None),
    or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < db_epoch()),
)
# …and its sent copies still in their person's chat are returned to be edited, their ref cleared
# so that each is edited once.
_SENT_COPIES = (
    select(_OUTBOX.c.id, _OUTBOX.c.person_id, _OUTBOX.c.chat_id, _OUTBOX.c.message_id)
    .join(_PEOPLE, _PEOPLE.c.id == _OUTBOX.c.person_id)
    .where(
        _ABOUT,
        _OUTBOX.c.sent_at.is_not(None),
        _OUTBOX.c.message_id.is_not(None),
        _PEOPLE.c.telegram_id == _OUTBOX.c.chat_id,
    )
    .order_by(_OUTBOX.c.id)
)


class SqlOutbox:
    """Outgoing messages, addressed to a chat in the recipient's language."""

    def __init__(
        self,
        session: AsyncSession,
        now: Any,
        quiet: Callable[[datetime], datetime | None] | None = None,
    ) -> None:
        self.session = session
        self.now = now
        # When given: until when a deferrable notice written now must wait (quiet hours).
        self.quiet = quiet

    async def add(self, notice: Notice) -> None:
        asked = {"person_id": notice.person_id}
        person = (await self.session.execute(RECIPIENT, asked)).first()
        if person is None or person.telegram_id is None:
            return  # nobody to tell yet; the timeline keeps the record
        now = self.now()
        outbox_written(self.session)
        await self.session.execute(
            ADD_TO_OUTBOX,
            {
                "person_id": person.id,
                "chat_id": person.telegram_id,
                "lang": person.lang,
                "key": notice.key,
                "params": dict(notice.params),
                "actions": [
                    {
                        "label": a.label,
                        "verb": a.verb,
                        "target_id": a.target_id,
                        "arg": a.arg,
                        "params": dict(a.params),
                    }
                    for a in notice.actions
                ],
                "photo": notice.photo,
                "urgent": notice.urgent,
                "created_at": now,
                "attempts": 0,
                "not_before": self.quiet(now) if notice.deferrable and self.quiet else None,
                "ref": notice.ref,
            },
        )

    async def post(
        self, chat_id: int, lang: str, key: str, params: Mapping[str, Any], *, urgent: bool = False
    ) -> None:
        """Queue a message to a channel or group: nobody's private chat, so no person."""
        outbox_written(self.session)
        await self.session.execute(
            ADD_TO_OUTBOX,
            {
                "person_id": None,
                "chat_id": chat_id,
                "lang": lang,
                "key": key,
                "params": dict(params),
                "actions": [],
                "photo": None,
                "urgent": urgent,
                "created_at": self.now(),
                "attempts": 0,
                "not_before": None,
                "ref": None,
            },
        )

    async def forget(self, traces: Traces, placeholder: str) -> int:
        outbox_written(self.session)
        to_them = [_OUTBOX.c.person_id == traces.person_id]
        if traces.chat_id is not None:
            to_them.append(_OUTBOX.c.chat_id == traces.chat_id)
            # The chat's pace: its key is their Telegram id.
            await self.session.execute(delete(_SLOTS).where(_SLOTS.c.key == str(traces.chat_id)))
        dropped = await self.session.execute(delete(_OUTBOX).where(or_(*to_them)))
        # What was sent or given up is never read again but for its ids; delivery empties it
        # (storage/outbox.py), and this empties what an older version left.
        await self.session.execute(
            update(_OUTBOX)
            .where(
                or_(_OUTBOX.c.sent_at.is_not(None), _OUTBOX.c.failed_at.is_not(None)),
                or_(
                    cast_as(_OUTBOX.c.params, Text) != "{}",
                    cast_as(_OUTBOX.c.actions, Text) != "[]",
                    _OUTBOX.c.photo.is_not(None),
                ),
            )
            .values(params={}, actions=[], photo=None)
        )
        # Unsent messages to others: those about their orders are moot (the orders are being
        # cancelled or closed); in the rest, their words give way to the placeholder.
        unsent = await self.session.execute(
            select(_OUTBOX.c.id, _OUTBOX.c.params, _OUTBOX.c.actions, _OUTBOX.c.photo).where(
                _OUTBOX.c.sent_at.is_(None), _OUTBOX.c.failed_at.is_(None)
            )
        )
        moot: list[int] = []
        for row in unsent:
            params, actions = dict(row.params or {}), list(row.actions or [])
            if _concerns(traces, params, actions):
                moot.append(row.id)
                continue
            scrubbed = _scrubbed(params, traces.words, placeholder)
            photo = None if row.photo in traces.words else row.photo
            if scrubbed != params or photo != row.photo:
                await self.session.execute(
                    update(_OUTBOX)
                    .where(_OUTBOX.c.id == row.id)
                    .values(params=scrubbed, photo=photo)
                )
        if moot:
            await self.session.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(moot)))
        return int(dropped.rowcount or 0) + len(moot)  # type: ignore[attr-defined]

    async def take_back(
        self, refs: Sequence[str], *, except_person: int | None = None
    ) -> list[SentCopy]:
        """Drop the unsent messages about any of `refs`; return the sent copies, refs forgotten."""
        outbox_written(self.session)
        others = (_NOT_TO,) if except_person is not None else ()
        asked = {"refs": list(refs), "except_person": except_person}
        await self.session.execute(delete(_OUTBOX).where(_ABOUT, *others, *_UNSENT), asked)
        rows = (await self.session.execute(_SENT_COPIES.where(*others), asked)).all()
        if rows:
            await self.session.execute(
                update(_OUTBOX).where(_OUTBOX.c.id.in_([r.id for r in rows])).values(ref=None)
            )
        return [SentCopy(r.person_id, r.chat_id, r.message_id) for r in rows]


def _concerns(traces: Traces, params: dict[str, Any], actions: list[Any]) -> bool:
    """Return whether a queued message is about one of the erased resident's orders."""
    if str(params.get("number")) in traces.numbers:
        return True
    return any(isinstance(a, dict) and _order_of(a) in traces.order_ids for a in actions)


def _order_of(action: dict[str, Any]) -> int | None:
    """Return the order a stored button acts on, if it acts on one.

    Rows written before buttons said what they act on keep 'order_id' (a visit's id, too):
    read as an order, so an erasure still errs on the side of dropping the message.
    """
    if "target_id" not in action:
        return action.get("order_id")
    try:
        target = Verb(str(action.get("verb"))).target
    except ValueError:  # a verb no longer known: its id may be an order's
        target = Target.ORDER
    return action["target_id"] if target == Target.ORDER else None


def _scrubbed(value: Any, words: frozenset[str], placeholder: str) -> Any:
    """Return a message's JSON with each of the words replaced by the placeholder."""
    if isinstance(value, str):
        for word in sorted(words, key=len, reverse=True):  # a phone before its digits' part
            value = value.replace(word, placeholder)
        return value
    if isinstance(value, dict):
        return {k: _scrubbed(v, words, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, words, placeholder) for v in value]
    return value
