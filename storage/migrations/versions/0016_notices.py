"""notices: notices (通知), residents who turned them off, grid groups, words kept for a deep link

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulletins_sender", "bulletins", ["sender_id", "id"])
    op.create_index("ix_bulletins_reported_at", "bulletins", ["reported_at"])
    op.create_table(
        "notice_optouts",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "grid_groups",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"]),
        sa.ForeignKeyConstraint(["linked_by"], ["people.id"]),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index("ix_grid_groups_place", "grid_groups", ["place_id", "kind"])
    op.create_table(
        "group_words",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_group_words_at", "group_words", ["at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_group_words_at", table_name="group_words")
    op.drop_table("group_words")
    op.drop_index("ix_grid_groups_place", table_name="grid_groups")
    op.drop_table("grid_groups")
    op.drop_table("notice_optouts")
    op.drop_index("ix_bulletins_reported_at", table_name="bulletins")
    op.drop_index("ix_bulletins_sender", table_name="bulletins")
    op.drop_table("bulletins")
