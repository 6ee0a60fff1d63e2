"""Work queues as rows: the inbox (raw platform events), the outbox (pushes), voice jobs, tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, JsonValue


class ItemStatus(StrEnum):
    NEW = "new"
    TAKEN = "taken"  # leased by a worker until taken_until; retaken after a crash
    DONE = "done"
    DEAD = "dead"  # gave up after the configured number of attempts


class InboxItem(Base):
    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    message_key: Mapped[str] = mapped_column(String(300))  # the platform's dedupe key
    payload: Mapped[str] = mapped_column(Text)  # decrypted XML / JSON, exactly as received
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    taken_until: Mapped[datetime | None]
    taken_by: Mapped[str | None] = mapped_column(String(100))
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("platform", "message_key"),
        Index("ix_inbox_status_id", "status", "id"),
    )


class OutboxItem(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(30))  # app_user, group_robot, appchat, ...
    target: Mapped[str] = mapped_column(String(500))  # platform user id, robot key, chat id
    payload: Mapped[dict[str, Any]] = mapped_column(JsonValue)  # the serialized Message
    rate_key: Mapped[str] = mapped_column(String(600))  # what a rate limit is counted per
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]  # quiet hours and backoff both move this
    taken_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)  # e.g. WeCom response_code
    source: Mapped[str | None] = mapped_column(String(300))  # inbox key or job that made it

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)


class VoiceJob(Base):
    __tablename__ = "voice_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(100))  # platform user id
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    media_id: Mapped[str | None] = mapped_column(String(500))
    media_format: Mapped[str | None] = mapped_column(String(20))
    recognition: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    taken_until: Mapped[datetime | None]
    taken_by: Mapped[str | None] = mapped_column(String(100))
    finished_at: Mapped[datetime | None]
    transcript: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    engine: Mapped[str | None] = mapped_column(String(30))
    model: Mapped[str | None] = mapped_column(String(200))
    timings: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index("ix_voice_jobs_status_id", "status", "id"),
    )


class PlatformToken(Base):
    """An access token shared by every instance, with its expiry."""

    __tablename__ = "platform_tokens"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. wecom:<corp>:<agent>
    token: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
