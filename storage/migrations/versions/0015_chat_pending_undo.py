"""chat: pending free-text notes, undoable changes

Revision ID: 0015
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import storage.base

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_notes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_pending_notes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_pending_notes")),
    )
    op.create_table(
        "undoable_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_undoable_changes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undoable_changes")),
    )
    with op.batch_alter_table("undoable_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_undoable_changes_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_undoable_changes_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("undoable_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_undoable_changes_created_at"))
        batch_op.drop_index(batch_op.f("ix_undoable_changes_user_id"))
    op.drop_table("undoable_changes")
    op.drop_table("pending_notes")
