"""publicity: a community's 公示 channel, orders' publication and time spent, teams' leaders,
people's consent to be named in public; channel posts have no person

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_teams_leader_id_people", "people", ["leader_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publish_consent", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("minutes_spent", sa.Integer(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Revert this revision."""
    op.execute("DELETE FROM outbox WHERE person_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("minutes_spent")
        batch_op.drop_column("published_at")
        batch_op.drop_column("publish_consent")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_constraint("fk_teams_leader_id_people", type_="foreignkey")
        batch_op.drop_column("leader_id")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("public")
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_column("channel")
