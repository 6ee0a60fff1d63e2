"""Wake a worker when its table got work: after the commit, so the rows are there to take."""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def wake_after_commit(db: AsyncSession, wake: asyncio.Event | None) -> None:
    """Set `wake` when this session's transaction commits (not at all if it rolls back).

    Workers still poll, so a wake is a shortcut, never a requirement: another instance's rows
    are found on its next poll.
    """
    if wake is None:
        return
    session = db.sync_session
    key = ("wake_after_commit", id(wake))
    if session.info.get(key):
        return
    session.info[key] = True

    def fire(committed: Session) -> None:
        committed.info.pop(key, None)
        wake.set()

    event.listen(session, "after_commit", fire, once=True)
