"""teams.wecom_bot_chatid: the WeCom 智能机器人's group chat for a team's warnings

Revision ID: 0019
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("wecom_bot_chatid", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("wecom_bot_chatid")
