"""working time: categories may count deadlines in working hours; places keep hours and closed days

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("working_time", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.add_column(sa.Column("working_hours", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("closed_days", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_column("closed_days")
        batch_op.drop_column("working_hours")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("working_time")
