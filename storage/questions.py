"""Questions (咨询): a resident's question, who answers it, the answer and its clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import QuestionRow
from workflows.model import Question, QuestionCounts


def to_question(row: QuestionRow) -> Question:
    """Return the domain question for a row."""
    return Question(
        id=row.id,
        asker_id=row.asker_id,
        household_id=row.household_id,
        community_id=row.community_id,
        assignee_id=row.assignee_id,
        text=row.text,
        asked_at=row.asked_at,
        answer_due=row.answer_due,
        answer=row.answer,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
    )


class SqlQuestions:
    """Questions and their answers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        asker_id: int,
        household_id: int,
        community_id: int,
        assignee_id: int | None,
        text: str,
        asked_at: datetime,
        answer_due: datetime,
    ) -> Question:
        row = QuestionRow(
            asker_id=asker_id,
            household_id=household_id,
            community_id=community_id,
            assignee_id=assignee_id,
            text=text,
            asked_at=asked_at,
            answer_due=answer_due,
        )
        self.session.add(row)
        await self.session.flush()
        return to_question(row)

    async def get(self, question_id: int) -> Question | None:
        row = await self.session.get(QuestionRow, question_id, populate_existing=True)
        return to_question(row) if row else None

    async def answer(self, question_id: int, person_id: int, text: str, at: datetime) -> bool:
        result = await self.session.execute(
            update(QuestionRow)
            .where(QuestionRow.id == question_id, QuestionRow.answered_at.is_(None))
            .values(answer=text, answered_at=at, answered_by=person_id)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def forget_asker(self, person_id: int) -> list[Question]:
        rows = await self.session.scalars(
            delete(QuestionRow).where(QuestionRow.asker_id == person_id).returning(QuestionRow)
        )
        return [to_question(r) for r in rows]

    async def unanswered(self) -> list[Question]:
        rows = await self.session.scalars(
            select(QuestionRow)
            .where(QuestionRow.answered_at.is_(None))
            .order_by(QuestionRow.answer_due, QuestionRow.id)
        )
        return [to_question(r) for r in rows]

    async def counts(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> QuestionCounts:
        wanted = QuestionRow.community_id.in_(list(community_ids))
        asked = await self.session.scalar(
            select(func.count()).where(
                wanted, QuestionRow.asked_at >= since, QuestionRow.asked_at < until
            )
        )
        answered = await self.session.scalar(
            select(func.count()).where(
                wanted, QuestionRow.answered_at >= since, QuestionRow.answered_at < until
            )
        )
        late = await self.session.scalar(
            select(func.count()).where(
                wanted, QuestionRow.answered_at.is_(None), QuestionRow.answer_due < until
            )
        )
        return QuestionCounts(int(asked or 0), int(answered or 0), int(late or 0))
