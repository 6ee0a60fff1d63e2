"""security: signatures accepted once, private conversations bound to one sender

Revision ID: 0014
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0014"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_signatures",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.String(length=300), nullable=False),
        sa.Column("expires_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "signature", name=op.f("pk_seen_signatures")),
    )
    op.create_index(
        "ix_seen_signatures_expires_at", "seen_signatures", ["expires_at"], unique=False
    )
    op.create_table(
        "conversation_owners",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("first_seen_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "conversation_id", name=op.f("pk_conversation_owners")
        ),
    )


def downgrade() -> None:
    op.drop_table("conversation_owners")
    op.drop_index("ix_seen_signatures_expires_at", table_name="seen_signatures")
    op.drop_table("seen_signatures")
