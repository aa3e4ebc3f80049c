"""clocks: a deadline for the queue and the pool, per category; people's on-duty hours

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORY_CLOCKS = (
    ("queue_minutes", "60"),
    ("urgent_queue_minutes", "15"),
    ("pool_hours", "24"),
    ("urgent_pool_hours", "2"),
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("categories", schema=None) as batch_op:
        for name, default in CATEGORY_CLOCKS:
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=default)
            )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_duty", sa.String(length=100), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_due", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_orders_due_wait",
            ["status", "wait_due", "category_id", "urgency", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_orders_backlog", ["status", "community_id", "created_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_backlog")
        batch_op.drop_index("ix_orders_due_wait")
        batch_op.drop_column("wait_due")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("on_duty")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        for name, _ in reversed(CATEGORY_CLOCKS):
            batch_op.drop_column(name)
