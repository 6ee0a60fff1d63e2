"""web board: login links, sessions, screens; indexes for the board's aggregate queries

Revision ID: 0018
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0018"
down_revision = "0019"
branch_labels = None
depends_on = None

UTC_DT = storage.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "board_login_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("used_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_board_login_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_login_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_login_tokens_token_hash")),
    )
    op.create_index("ix_board_login_tokens_user_id", "board_login_tokens", ["user_id"])
    op.create_table(
        "board_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("revoked_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_board_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_sessions_token_hash")),
    )
    op.create_index("ix_board_sessions_user_id", "board_sessions", ["user_id"])
    op.create_table(
        "board_screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("revoked_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_board_screens_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_screens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_screens_token_hash")),
    )
    op.create_index("ix_board_screens_created_by", "board_screens", ["created_by"])
    # The 作战室 counts by time window and stage over the whole history: these keep it indexed.
    op.create_index("ix_followups_created_at", "followups", ["created_at"])
    op.create_index("ix_customers_created_at", "customers", ["created_at"])
    op.create_index("ix_stage_history_at", "stage_history", ["at"])
    op.create_index("ix_customer_events_kind_at", "customer_events", ["kind", "occurred_at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    op.create_index(
        "ix_followups_customer_amount",
        "followups",
        ["customer_id", "created_at"],
        postgresql_where=sa.text("amount_yuan IS NOT NULL"),
        sqlite_where=sa.text("amount_yuan IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_followups_customer_amount", table_name="followups")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_customer_events_kind_at", table_name="customer_events")
    op.drop_index("ix_stage_history_at", table_name="stage_history")
    op.drop_index("ix_customers_created_at", table_name="customers")
    op.drop_index("ix_followups_created_at", table_name="followups")
    op.drop_table("board_screens")
    op.drop_table("board_sessions")
    op.drop_table("board_login_tokens")
