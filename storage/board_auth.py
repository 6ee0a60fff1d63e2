"""Board credentials: issue and redeem login links, open and check sessions and screen tokens.

Only SHA-256 hashes of the random tokens are stored, so a leaked table opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board_models import BoardLoginToken, BoardScreen, BoardSession
from storage.models import User
from storage.upsert import rowcount

LOGIN_LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token_for(session_token: str) -> str:
    """The form token that goes with a session: derived from it, so nothing more is stored."""
    return hmac.new(session_token.encode(), b"board-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, offered: str) -> bool:
    return hmac.compare_digest(csrf_token_for(session_token), offered)


async def issue_login_token(
    db: AsyncSession, user_id: int, *, now: datetime, ttl: timedelta = LOGIN_LINK_TTL
) -> str:
    raw = new_token()
    db.add(
        BoardLoginToken(
            token_hash=hash_token(raw), user_id=user_id, created_at=now, expires_at=now + ttl
        )
    )
    await db.flush()
    return raw


async def redeem_login_token(db: AsyncSession, raw: str, *, now: datetime) -> int | None:
    """The user the link belongs to, once: a used, expired or unknown link gives None."""
    digest = hash_token(raw)
    result = await db.execute(
        update(BoardLoginToken)
        .where(
            BoardLoginToken.token_hash == digest,
            BoardLoginToken.used_at.is_(None),
            BoardLoginToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if rowcount(result) != 1:  # the conditional UPDATE is the single-use guarantee
        return None
    stmt = select(BoardLoginToken.user_id).where(BoardLoginToken.token_hash == digest)
    return (await db.execute(stmt)).scalar_one()


async def open_session(
    db: AsyncSession, user_id: int, *, now: datetime, via: str, ttl: timedelta = SESSION_TTL
) -> str:
    raw = new_token()
    db.add(
        BoardSession(
            token_hash=hash_token(raw),
            user_id=user_id,
            via=via,
            created_at=now,
            expires_at=now + ttl,
            revoked_at=None,
        )
    )
    await db.flush()
    return raw


async def session_user(db: AsyncSession, raw: str, *, now: datetime) -> User | None:
    """The active user of a live session; a deactivated user's sessions open nothing."""
    stmt = (
        select(User)
        .join(BoardSession, BoardSession.user_id == User.id)
        .where(
            BoardSession.token_hash == hash_token(raw),
            BoardSession.revoked_at.is_(None),
            BoardSession.expires_at > now,
            User.active.is_(True),
        )
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def close_session(db: AsyncSession, raw: str, *, now: datetime) -> None:
    await db.execute(
        update(BoardSession)
        .where(BoardSession.token_hash == hash_token(raw), BoardSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_sessions(db: AsyncSession, user_id: int, *, now: datetime) -> int:
    result = await db.execute(
        update(BoardSession)
        .where(BoardSession.user_id == user_id, BoardSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return rowcount(result)


@dataclass(frozen=True, slots=True)
class Screen:
    id: int
    name: str
    owner: User  # whose view the screen shows, read-only


async def create_screen(
    db: AsyncSession, *, name: str, created_by: int, now: datetime
) -> tuple[int, str]:
    raw = new_token()
    screen = BoardScreen(
        token_hash=hash_token(raw),
        name=name,
        created_by=created_by,
        created_at=now,
        revoked_at=None,
    )
    db.add(screen)
    await db.flush()
    return screen.id, raw


async def screen_for(db: AsyncSession, raw: str) -> Screen | None:
    """A live screen token, shown as its (still active) creator sees the board."""
    stmt = (
        select(BoardScreen, User)
        .join(User, User.id == BoardScreen.created_by)
        .where(
            BoardScreen.token_hash == hash_token(raw),
            BoardScreen.revoked_at.is_(None),
            User.active.is_(True),
        )
    )
    row = (await db.execute(stmt)).first()
    return None if row is None else Screen(row[0].id, row[0].name, row[1])


async def list_screens(db: AsyncSession) -> list[BoardScreen]:
    stmt = select(BoardScreen).where(BoardScreen.revoked_at.is_(None)).order_by(BoardScreen.id)
    return list((await db.execute(stmt)).scalars())


async def revoke_screen(db: AsyncSession, screen_id: int, *, now: datetime) -> bool:
    result = await db.execute(
        update(BoardScreen)
        .where(BoardScreen.id == screen_id, BoardScreen.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return rowcount(result) == 1
