"""The unit of work: one session and transaction per update or timer run, committed once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.bulletins import SqlBulletins
from storage.calendar import CHINA
from storage.notices import OUTBOX_WRITTEN, SqlOutbox
from storage.orders import SqlOrders
from storage.people import SqlPeople
from storage.places import SqlPlaces
from storage.questions import SqlQuestions
from storage.reports import SqlReports
from storage.repositories import (
    SqlAudit,
    SqlCategories,
    SqlChats,
    SqlConsoleLogins,
    SqlInvites,
    SqlUpdateLog,
)
from storage.timers import SqlTimers
from storage.visits import SqlVisits
from workflows.ports import (
    AuditRepository,
    BulletinRepository,
    CategoryRepository,
    ChatRepository,
    ConsoleLoginRepository,
    InviteRepository,
    OrderRepository,
    OutboxRepository,
    PersonRepository,
    PlaceRepository,
    QuestionRepository,
    ReportRepository,
    TimerRepository,
    UpdateLog,
    VisitRepository,
    WorkCalendar,
)


class SqlUnitOfWork:
    """Repositories over one session, committed once by the entry point; else rolled back."""

    session: AsyncSession
    places: PlaceRepository
    people: PersonRepository
    categories: CategoryRepository
    orders: OrderRepository
    outbox: OutboxRepository
    chats: ChatRepository
    invites: InviteRepository
    audit: AuditRepository
    updates: UpdateLog
    timers: TimerRepository
    visits: VisitRepository
    reports: ReportRepository
    questions: QuestionRepository
    bulletins: BulletinRepository  # notices (issue 17)
    console_logins: ConsoleLoginRepository
    calendar: WorkCalendar = CHINA

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        on_commit: Callable[[], None] | None = None,
        *,
        quiet: Callable[[datetime], datetime | None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._now = now
        self._on_commit = on_commit
        self._quiet = quiet  # quiet hours for deferrable notices (see SqlOutbox)

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.places = SqlPlaces(self.session)
        self.people = SqlPeople(self.session)
        self.categories = SqlCategories(self.session)
        self.orders = SqlOrders(self.session)
        self.outbox = SqlOutbox(self.session, self._now, self._quiet)
        self.chats = SqlChats(self.session)
        self.invites = SqlInvites(self.session)
        self.audit = SqlAudit(self.session)
        self.updates = SqlUpdateLog(self.session)
        self.timers = SqlTimers(self.session)
        self.visits = SqlVisits(self.session)
        self.reports = SqlReports(self.session)
        self.questions = SqlQuestions(self.session)
        self.bulletins = SqlBulletins(self.session, self._now, self._quiet)
        self.console_logins = SqlConsoleLogins(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        """Commit everything done in this unit of work, then wake the delivery worker if it
        queued a message (a commit that queued none leaves it be: it would only look)."""
        queued = self.session.info.pop(OUTBOX_WRITTEN, False)
        await self.session.commit()
        if queued and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        """Throw away everything not yet committed."""
        self.session.info.pop(OUTBOX_WRITTEN, None)
        await self.session.rollback()
