"""moves: 延期 requests, 挂起 until a date, 转办 department, merged orders, duplicate_days

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

WHEN = sa.DateTime(timezone=True)
revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("extension_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("extension_until", WHEN, nullable=True))
        batch_op.add_column(sa.Column("paused_until", WHEN, nullable=True))
        batch_op.add_column(sa.Column("resolve_left", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_orders_department_id_places", "places", ["department_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_orders_merged_into_id_orders", "orders", ["merged_into_id"], ["id"]
        )
        batch_op.create_index("ix_orders_due_resume", ["status", "paused_until", "id"])
        batch_op.create_index(
            "ix_orders_building_category", ["building_id", "category_id", "created_at"]
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("duplicate_days", sa.Integer(), nullable=False, server_default="3")
        )
    op.create_table(
        "order_followers",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_followers_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_order_followers_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "person_id", name=op.f("pk_order_followers")),
    )
    op.create_index("ix_order_followers_person_id", "order_followers", ["person_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_order_followers_person_id", table_name="order_followers")
    op.drop_table("order_followers")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("duplicate_days")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_building_category")
        batch_op.drop_index("ix_orders_due_resume")
        batch_op.drop_constraint("fk_orders_merged_into_id_orders", type_="foreignkey")
        batch_op.drop_constraint("fk_orders_department_id_places", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("department_id")
        batch_op.drop_column("resolve_left")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("extension_until")
        batch_op.drop_column("extension_requested_at")
