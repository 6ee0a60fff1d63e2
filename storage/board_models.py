"""The web board's credentials: one-time login links, browser sessions, meeting-room screens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class BoardLoginToken(Base):
    """A `看板` link: single use, short-lived, only its SHA-256 is kept."""

    __tablename__ = "board_login_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class BoardSession(Base):
    """A browser's board session (the cookie holds the token, the row its hash)."""

    __tablename__ = "board_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(String(20))  # link | wecom | dingtalk
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class BoardScreen(Base):
    """A meeting-room screen (`大屏 新建`): read-only 作战室, long-lived, revocable."""

    __tablename__ = "board_screens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
