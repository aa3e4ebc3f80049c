"""open board: the console's board reads open orders from two partial indexes

0019's `ix_orders_board` spanned every order, closed ones too: listing a street's newest open
orders walked a million closed ones, and the planner counted from another index, reading rows.
The two partial indexes hold only open orders, with every column the board filters on.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-02 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out as in storage/models.py at this revision (a migration does not follow the models).
OPEN_ORDERS_SQL = "status IN ('queued', 'pool', 'offered', 'accepted', 'on_way', 'paused')"
BOARD_COLUMNS = [
    "category_id",
    "building_id",
    "household_id",
    "urgency",
    "channel",
    "assignee_id",
    "wait_due",
    "accept_due",
    "resolve_due",
]


def upgrade() -> None:
    """Apply this revision."""
    where = sa.text(OPEN_ORDERS_SQL)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_board")
        batch_op.create_index(
            "ix_orders_open_counts",
            ["community_id", "status", *BOARD_COLUMNS],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )
        batch_op.create_index(
            "ix_orders_open_newest",
            ["id", "community_id", "status", *BOARD_COLUMNS],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_open_newest")
        batch_op.drop_index("ix_orders_open_counts")
        batch_op.create_index(
            "ix_orders_board",
            ["community_id", "status", "wait_due", "accept_due", "resolve_due"],
            unique=False,
        )
