"""erasure and card references: orders keep their building; outbox rows name what they are about

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        # An erased resident's orders stay for the figures, placed down to the building only:
        # their household (the room) is unlinked, the building is kept here.
        batch_op.add_column(sa.Column("building_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_orders_building_id", "places", ["building_id"], ["id"])
        batch_op.alter_column("household_id", existing_type=sa.Integer(), nullable=True)
    op.execute(
        "UPDATE orders SET building_id = (SELECT places.parent_id FROM households "
        "JOIN places ON places.id = households.unit_id WHERE households.id = orders.household_id)"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # What a message is about (e.g. a task card of an order), so that its copies can be
        # withdrawn or edited later; and the id Telegram gave it once sent.
        batch_op.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_outbox_ref", ["ref"], unique=False)


def downgrade() -> None:
    """Revert this revision (an erased resident's orders go back to a household of the building)."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ref")
        batch_op.drop_column("message_id")
        batch_op.drop_column("ref")
    op.execute(
        "UPDATE orders SET household_id = (SELECT MIN(households.id) FROM households "
        "JOIN places ON places.id = households.unit_id "
        "WHERE places.parent_id = orders.building_id) WHERE household_id IS NULL"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("household_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("fk_orders_building_id", type_="foreignkey")
        batch_op.drop_column("building_id")
