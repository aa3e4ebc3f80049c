"""order deadline indexes: the timer sweeps and the digest read due orders by index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each sweep asks "orders in these statuses whose <moment> is before now"; with only the status
# indexed, that read every closed order (the whole history) or every open one.
INDEXES = {
    "ix_orders_status_accept_due": ["status", "accept_due"],
    "ix_orders_status_resolve_due": ["status", "resolve_due"],
    "ix_orders_status_resolved_at": ["status", "resolved_at"],
    "ix_orders_status_closed_at": ["status", "closed_at"],
}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
