"""The console's one-time login links: staff only, kept as a digest, used once, for ten minutes."""

from __future__ import annotations

import pytest

from tests.fakes import sample_world
from workflows.console import LOGIN_MINUTES, digest, issue_login, redeem_login
from workflows.errors import NotAllowed


async def test_a_link_signs_its_staff_member_in_once_and_only_its_digest_is_kept() -> None:
    w = sample_world()
    token = await issue_login(w.uow, w.clock, w.org.cadre)
    assert token not in w.uow.store.console_logins
    assert digest(token) in w.uow.store.console_logins
    person = await redeem_login(w.uow, w.clock, token)
    assert person is not None and person.id == w.org.cadre.id
    assert await redeem_login(w.uow, w.clock, token) is None  # used
    assert await redeem_login(w.uow, w.clock, "made-up") is None
    assert await redeem_login(w.uow, w.clock, "") is None
    assert [e.action for e in w.uow.store.audit][-2:] == ["console_link", "console_login"]


async def test_a_link_expires_after_ten_minutes_and_residents_get_none() -> None:
    w = sample_world()
    token = await issue_login(w.uow, w.clock, w.org.cadre)
    w.clock.advance(minutes=LOGIN_MINUTES, seconds=1)
    assert await redeem_login(w.uow, w.clock, token) is None
    with pytest.raises(NotAllowed):
        await issue_login(w.uow, w.clock, w.org.resident)
