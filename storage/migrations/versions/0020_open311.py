"""open311: partner systems' API keys, the requests they filed, people found by phone

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["scope_id"], ["places.id"], name="fk_api_keys_scope_id_places"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "api_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name="fk_api_requests_key_id_api_keys"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_api_requests_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_requests"),
        sa.UniqueConstraint("key_id", "idempotency_key", name="uq_api_requests_key_id"),
        sa.UniqueConstraint("token", name="uq_api_requests_token"),
    )
    op.create_index("ix_api_requests_order_id", "api_requests", ["order_id"])
    op.create_index("ix_people_phone", "people", ["phone"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_people_phone", table_name="people")
    op.drop_index("ix_api_requests_order_id", table_name="api_requests")
    op.drop_table("api_requests")
    op.drop_table("api_keys")
