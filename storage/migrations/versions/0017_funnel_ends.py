"""funnel ends: leads, contracts, receivables, customer contacts, team regions (#17)

Revision ID: 0017
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0017"
down_revision = "0020"
branch_labels = None
depends_on = None


def _utc() -> storage.base.UTCDateTime:
    return storage.base.UTCDateTime()


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("regions", sa.JSON(), nullable=True))
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=True),
        sa.Column("contact", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("budget", sa.String(length=50), nullable=True),
        sa.Column("urgency", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", _utc(), nullable=True),
        sa.Column("touch_due_at", _utc(), nullable=True),
        sa.Column("first_touched_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_leads_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"], ["users.id"], name=op.f("fk_leads_assigned_to_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_leads_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_leads_customer_id")),
    )
    op.create_index("uq_leads_source_external", "leads", ["source", "external_id"], unique=True)
    op.create_index("ix_leads_assigned_open", "leads", ["assigned_to_id", "first_touched_at"])
    op.create_index("ix_leads_assigned_at", "leads", ["assigned_at"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("amount_yuan", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("signed_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_contracts_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["customer_events.id"],
            name=op.f("fk_contracts_event_id_customer_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_contracts_customer_id")),
    )
    op.create_table(
        "receivables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=30), nullable=False),
        sa.Column("share_pct", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("amount_yuan", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("step_at", _utc(), nullable=False),
        sa.Column("paid_yuan", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("invoice_ref", sa.String(length=200), nullable=True),
        sa.Column("receipt_media_id", sa.String(length=200), nullable=True),
        sa.Column("receipt_asked_at", _utc(), nullable=True),
        sa.Column("paid_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_receivables_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_receivables_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_receivables_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
    )
    op.create_index("ix_receivables_contract_id", "receivables", ["contract_id"])
    op.create_index("ix_receivables_customer_id", "receivables", ["customer_id"])
    op.create_index("ix_receivables_owner_id", "receivables", ["owner_id"])
    op.create_index("ix_receivables_due_on", "receivables", ["due_on"])
    op.create_table(
        "customer_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_contacts_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contacts")),
    )
    op.create_index(
        "uq_customer_contacts_name", "customer_contacts", ["customer_id", "name"], unique=True
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_followups_contact_id_customer_contacts"),
            "customer_contacts",
            ["contact_id"],
            ["id"],
        )
        batch_op.create_index("ix_followups_author_created", ["author_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_author_created")
        batch_op.drop_constraint(
            op.f("fk_followups_contact_id_customer_contacts"), type_="foreignkey"
        )
        batch_op.drop_column("contact_id")
    op.drop_index("uq_customer_contacts_name", table_name="customer_contacts")
    op.drop_table("customer_contacts")
    for name in ("due_on", "owner_id", "customer_id", "contract_id"):
        op.drop_index(f"ix_receivables_{name}", table_name="receivables")
    op.drop_table("receivables")
    op.drop_table("contracts")
    op.drop_index("ix_leads_assigned_at", table_name="leads")
    op.drop_index("ix_leads_assigned_open", table_name="leads")
    op.drop_index("uq_leads_source_external", table_name="leads")
    op.drop_table("leads")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("regions")
