"""people by household: a household's people read from an index

Every order of a family (子女代办) tells the household's people, the console and chat list them:
each read went through the whole people table.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 18:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index("ix_people_household_id", ["household_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_household_id")
