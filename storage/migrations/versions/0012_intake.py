"""intake: a community's duty phone, categories' keywords, voice clips on orders

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02 11:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duty_phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.JSON(), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voices", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("voices")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("keywords")
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_column("duty_phone")
