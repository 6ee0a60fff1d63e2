"""Business rows: teams, users, customers and history, follow-ups, commitments, tasks, alerts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, JsonValue


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    DIRECTOR = "director"
    ADMIN = "admin"


ROLE_RANK = {Role.REP: 1, Role.MANAGER: 2, Role.DIRECTOR: 3, Role.ADMIN: 4}


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    wecom_webhook_key: Mapped[str | None] = mapped_column(String(200))
    wecom_chat_id: Mapped[str | None] = mapped_column(String(64))  # app group chat (appchat)
    # the 智能机器人's group chatid (logged when the bot is @-mentioned in the group)
    wecom_bot_chatid: Mapped[str | None] = mapped_column(String(128))
    dingtalk_conversation_id: Mapped[str | None] = mapped_column(String(200))
    dingtalk_webhook: Mapped[str | None] = mapped_column(String(500))
    dingtalk_secret: Mapped[str | None] = mapped_column(String(200))
    regions: Mapped[list[str] | None] = mapped_column(JSON)  # lead regions it covers (#17)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    team: Mapped[Team | None] = relationship(lazy="raise")

    @property
    def rank(self) -> int:
        return ROLE_RANK[Role(self.role)]


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    stage_entered_at: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(1), default="B")
    health_score: Mapped[int] = mapped_column(Integer, default=80)
    last_evidence_at: Mapped[datetime | None]  # last follow-up or completed task: resets stalls
    next_step_due_at: Mapped[datetime | None]  # a dated next step suspends the stall clock
    created_at: Mapped[datetime]
    owner: Mapped[User | None] = relationship(lazy="raise")

    __table_args__ = (Index("ix_customers_stage_entered", "stage", "stage_entered_at"),)


class StageChange(Base):
    __tablename__ = "stage_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Followup(Base):
    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(10), default="text")  # text | voice
    raw_text: Mapped[str] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str | None] = mapped_column(String(100))
    next_action: Mapped[str | None] = mapped_column(Text)
    next_action_due_at: Mapped[datetime | None]
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    extraction: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)  # fields, spans, engine
    asr: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)  # duration, engine, timings
    source_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("customer_contacts.id"))

    __table_args__ = (
        Index("ix_followups_customer_created", "customer_id", "created_at"),
        Index("ix_followups_author_created", "author_id", "created_at"),
    )


class CommitmentStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    CANCELLED = "cancelled"


class Commitment(Base):
    __tablename__ = "commitments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # C-20261122-003
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(index=True)
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=CommitmentStatus.OPEN, index=True)
    created_at: Mapped[datetime]
    kept_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"))
    source_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    customer: Mapped[Customer] = relationship(lazy="raise")


class CodeCounter(Base):
    """Per-day sequence for codes like C-YYYYMMDD-NNN: one row per (kind, day), bumped in place."""

    __tablename__ = "code_counters"
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class EventKind(StrEnum):
    CONTRACT_SIGNED = "contract_signed"
    DELIVERY_DONE = "delivery_done"
    PAYMENT_RECEIVED = "payment_received"


class CustomerEvent(Base):
    """Contract signed / delivery done / payment received: the events SOP tasks start from."""

    __tablename__ = "customer_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime]
    contract_expires_on: Mapped[date | None] = mapped_column(Date)
    payment_term_days: Mapped[int | None] = mapped_column(Integer)
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)


class TaskStatus(StrEnum):
    PLANNED = "planned"  # created, not yet pushed (its push time is in the future)
    PUSHED = "pushed"  # card sent, waiting to be accepted
    ACCEPTED = "accepted"
    DONE = "done"
    MISSED = "missed"


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)  # template + trigger event
    template_key: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    checklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    trigger_event_id: Mapped[int | None] = mapped_column(ForeignKey("customer_events.id"))
    push_at: Mapped[datetime] = mapped_column(index=True)
    accept_by: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.PLANNED, index=True)
    pushed_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_media_id: Mapped[str | None] = mapped_column(String(200))
    evidence_asked_at: Mapped[datetime | None]  # 完成 without evidence: the next image completes it
    last_activity_at: Mapped[datetime]
    created_at: Mapped[datetime]


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    SNOOZED = "snoozed"


class Alert(Base):
    """One warning; its dedupe key (rule, subject, level, period) makes it happen once."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(20))  # notice | yellow | red | director | ...
    subject_type: Mapped[str] = mapped_column(String(20))  # customer | commitment | task
    subject_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # whom it is about
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.OPEN, index=True)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    period_at: Mapped[datetime | None]  # the episode it belongs to (stall clock start, due time)

    __table_args__ = (Index("ix_alerts_subject", "subject_type", "subject_id"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    note: Mapped[str | None] = mapped_column(Text)


class HandledEvent(Base):
    """A chat event already answered, with the answer: handling it twice changes nothing."""

    __tablename__ = "handled_events"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime]
    replies: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Lead(Base):
    """Where a lead came from and who must call it: one row per lead customer (#17)."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    source: Mapped[str] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(50))
    contact: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    budget: Mapped[str | None] = mapped_column(String(50))
    urgency: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(100))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None]
    touch_due_at: Mapped[datetime | None]  # the 24-hour clock, in business time
    first_touched_at: Mapped[datetime | None]  # 已联系 or the first follow-up
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("uq_leads_source_external", "source", "external_id", unique=True),
        Index("ix_leads_assigned_open", "assigned_to_id", "first_touched_at"),
        Index("ix_leads_assigned_at", "assigned_at"),
    )


class Contract(Base):
    """签约 with an amount: one contract per customer; 签约 again updates it (#17)."""

    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    expires_on: Mapped[date] = mapped_column(Date)
    signed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("customer_events.id"))


class ReceivableStep(StrEnum):
    ARCHIVED = "archived"  # 合同归档
    INVOICED = "invoiced"  # 发票寄出
    ACKNOWLEDGED = "acknowledged"  # 客户签收
    PAID = "paid"  # 财务入账 (in full)


class Receivable(Base):
    """One expected payment of a contract's plan, walking 归档 → 开票 → 签收 → 入账 (#17)."""

    __tablename__ = "receivables"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(30))  # 签约, 验收, 账期 60 天
    share_pct: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    step: Mapped[str] = mapped_column(String(20), default=ReceivableStep.ARCHIVED)
    step_at: Mapped[datetime]
    paid_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    invoice_ref: Mapped[str | None] = mapped_column(String(200))
    receipt_media_id: Mapped[str | None] = mapped_column(String(200))
    receipt_asked_at: Mapped[datetime | None]  # 签收 without a photo: the next image is it
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CustomerContact(Base):
    """A person at a customer named in notes (李主任, 设备科陈工), merged by name (#17)."""

    __tablename__ = "customer_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    __table_args__ = (Index("uq_customer_contacts_name", "customer_id", "name", unique=True),)


class PendingNote(Base):
    """A free-text note that named no customer, waiting for the rep to pick one (one per user)."""

    __tablename__ = "pending_notes"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))  # the note's own: keeps it idempotent
    choices: Mapped[list[int]] = mapped_column(JSON, default=list)  # customer ids, as numbered
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class UndoableChange(Base):
    """A change `撤销` can take back: who made it, what kind (a registered undoer), its rows."""

    __tablename__ = "undoable_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # followup | stage | event | commitment | …
    entity_id: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)  # what undoing needs to know
    summary: Mapped[str] = mapped_column(String(200))  # "跟进（启明科技）" for the answer
    created_at: Mapped[datetime] = mapped_column(index=True)
    undone_at: Mapped[datetime | None]


class Attachment(Base):
    """What a user sent besides words: a picture, file, video or place (a visit check-in).

    Kept when it arrives; a check-in or picture without a task waiting for it goes onto the
    sender's next follow-up (followup_id), a task's evidence onto the task (task_id).
    """

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # image | file | video | location | link
    media_id: Mapped[str | None] = mapped_column(String(300))  # the platform's reference
    label: Mapped[str] = mapped_column(Text, default="")  # file name, place, link title and URL
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    at: Mapped[datetime]
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("platform", "message_id", "kind"),)


class VoiceRecording(Base):
    """The audio of a voice note, kept with its follow-up for playback, then purged (#20).

    `audio` is what the rep sent, as received; `playback` the same transcoded once for browsers
    (Ogg/Opus). A purge empties both and sets `purged_at`; the follow-up and its transcript stay.
    """

    __tablename__ = "voice_recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    media_format: Mapped[str | None] = mapped_column(String(20))  # as the platform named it
    size_bytes: Mapped[int] = mapped_column(Integer)  # of the audio as received
    duration_s: Mapped[float | None] = mapped_column(Float)
    audio: Mapped[bytes | None] = mapped_column(LargeBinary)
    playback: Mapped[bytes | None] = mapped_column(LargeBinary)
    playback_type: Mapped[str | None] = mapped_column(String(40))  # audio/ogg
    purged_at: Mapped[datetime | None]
