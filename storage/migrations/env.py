"""Alembic environment: runs on the connection the caller hands in (storage.migrate)."""

from __future__ import annotations

from alembic import context

import storage.board_models
import storage.guard_models
import storage.models
import storage.queue_models  # noqa: F401  (registers the tables on Base.metadata)
from storage.base import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `salesbot db upgrade` (storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
