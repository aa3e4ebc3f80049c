"""behalf: orders record their channel; people may be a household's family proxy

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-02 11:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="chat")
        )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("proxy", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["asker_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"]),
        sa.ForeignKeyConstraint(["community_id"], ["places.id"]),
        sa.ForeignKeyConstraint(["assignee_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["answered_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_questions_unanswered", "questions", ["answered_at", "answer_due"])
    op.create_index("ix_questions_community_asked", "questions", ["community_id", "asked_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_questions_community_asked", table_name="questions")
    op.drop_index("ix_questions_unanswered", table_name="questions")
    op.drop_table("questions")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("proxy")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("channel")
