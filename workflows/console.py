"""The web console's one-time login links (issue 18): issued in chat, redeemed once in a browser.

The link carries a random token; only its SHA-256 digest is kept, so a copy of the database does
not open anyone's console. A link works once and for `LOGIN_MINUTES` minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from workflows.errors import NotAllowed
from workflows.model import AuditEntry, Person
from workflows.ports import Clock, UnitOfWork

LOGIN_MINUTES = 10


def digest(token: str) -> str:
    """Return what is kept of a login token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_login(uow: UnitOfWork, clock: Clock, person: Person) -> str:
    """Make a one-time login link token for a staff member; residents get none."""
    if not person.is_staff:
        raise NotAllowed()
    token = secrets.token_urlsafe(24)
    now = clock.now()
    await uow.console_logins.issue(
        person.id, digest(token), now, now + timedelta(minutes=LOGIN_MINUTES)
    )
    await uow.audit.record(AuditEntry(now, "console_link", person.id, person.name))
    return token


async def redeem_login(uow: UnitOfWork, clock: Clock, token: str) -> Person | None:
    """Use a login token once, in time; return the staff member it was for, else None."""
    if not token or len(token) > 200:
        return None
    person_id = await uow.console_logins.redeem(digest(token), clock.now())
    if person_id is None:
        return None
    person = await uow.people.get(person_id)
    if person is None or not person.is_staff:
        return None
    await uow.audit.record(AuditEntry(clock.now(), "console_login", person.id, person.name))
    return person
