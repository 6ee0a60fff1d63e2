"""Rows that guard the edge: DingTalk signatures already used, and whose private chat is whose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SeenSignature(Base):
    """A callback signature accepted once, bound to the message it came with, until it expires.

    DingTalk's HTTP-mode `sign` covers only the timestamp: without this, one captured header
    pair would sign any body for an hour. Shared by every instance through the database.
    """

    __tablename__ = "seen_signatures"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    signature: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<timestamp>:<sign>"
    message_key: Mapped[str] = mapped_column(String(300))
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_seen_signatures_expires_at", "expires_at"),)


class ConversationOwner(Base):
    """The one sender of a private (1:1) conversation, as first seen: a message in it claiming
    to be from someone else was not written by DingTalk."""

    __tablename__ = "conversation_owners"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    sender: Mapped[str] = mapped_column(String(100))
    first_seen_at: Mapped[datetime]
