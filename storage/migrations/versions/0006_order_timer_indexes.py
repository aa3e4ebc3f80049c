"""order timer indexes: each sweep query answered from one index, its planner estimate aside

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A sweep asks which orders in some statuses have a moment before a bound, within their own
# category's and urgency's bound, and no ledger row yet. With those columns and the id in the
# index, SQLite answers from the index alone and PostgreSQL by an index-only scan: the orders
# table is read only for the orders actually due. The status-only index goes: every index here
# starts with the status, and PostgreSQL, misjudging how many orders of a status have a moment
# before now (the history's moments are all past), preferred it and read every offered order.
INDEXES = {
    "ix_orders_due_accept": ["status", "accept_due", "category_id", "urgency", "id"],
    "ix_orders_due_resolve": ["status", "resolve_due", "category_id", "urgency", "id"],
    "ix_orders_due_autoclose": ["status", "resolved_at", "id"],
    "ix_orders_due_followup": ["status", "closed_at", "category_id", "urgency", "id"],
}
REPLACED = {
    "ix_orders_status": ["status"],
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
        for name in REPLACED:
            batch_op.drop_index(name)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name, columns in REPLACED.items():
            batch_op.create_index(name, columns, unique=False)
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
