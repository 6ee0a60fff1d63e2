"""voice recordings kept with their follow-ups (#20)

Revision ID: 0020
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0020"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("media_format", sa.String(length=20), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("audio", sa.LargeBinary(), nullable=True),
        sa.Column("playback", sa.LargeBinary(), nullable=True),
        sa.Column("playback_type", sa.String(length=40), nullable=True),
        sa.Column("purged_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_voice_recordings_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_voice_recordings_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"], ["followups.id"], name=op.f("fk_voice_recordings_followup_id_followups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_recordings")),
        sa.UniqueConstraint("followup_id", name=op.f("uq_voice_recordings_followup_id")),
    )
    op.create_index(
        op.f("ix_voice_recordings_created_at"), "voice_recordings", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_voice_recordings_customer_id"), "voice_recordings", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_voice_recordings_customer_id"), table_name="voice_recordings")
    op.drop_index(op.f("ix_voice_recordings_created_at"), table_name="voice_recordings")
    op.drop_table("voice_recordings")
