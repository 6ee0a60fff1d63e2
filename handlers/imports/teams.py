"""Import teams: name and the group-chat settings that alerts go to."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.imports.csvfile import Batch, Context, Row, assign, count_and_audit
from storage.models import Team


def webhook_key(value: str) -> str | None:
    """A WeCom group-robot key, given bare or as its send URL; None if it is neither."""
    if value.startswith(("https://", "http://")):
        parts = urlsplit(value)
        keys = parse_qs(parts.query).get("key", [])
        if not parts.path.endswith("/cgi-bin/webhook/send") or len(keys) != 1:
            return None
        value = keys[0].strip()
    ok = value and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    return value if ok else None


async def import_teams(db: AsyncSession, batch: Batch, ctx: Context) -> None:
    wanted: list[tuple[Row, dict[str, str | None]]] = []
    for row in batch.rows:
        values: dict[str, str | None] = {}
        if row.has("wecom_webhook"):
            key = webhook_key(row.get("wecom_webhook")) if row.get("wecom_webhook") else ""
            if key is None:
                batch.fail(
                    row,
                    "wecom_webhook 应为群机器人 key 或地址 https://qyapi.weixin.qq.com/cgi-bin/"
                    "webhook/send?key=KEY (expected a group-robot key or its URL)",
                )
            values["wecom_webhook_key"] = key or None
        if row.get("dingtalk_webhook") and not row.get("dingtalk_webhook").startswith("https://"):
            batch.fail(row, "dingtalk_webhook 应以 https:// 开头 (expected an https:// URL)")
        for column in (
            "dingtalk_conversation_id",
            "dingtalk_webhook",
            "dingtalk_secret",
            "wecom_bot_chatid",
        ):
            if row.has(column):
                values[column] = row.get(column) or None
        wanted.append((row, values))
    if batch.errors:
        return
    existing = {t.name: t for t in (await db.execute(select(Team))).scalars()}
    changes: list[tuple[Team, dict[str, Any] | None]] = []
    for row, values in wanted:
        team = existing.get(row.get("name"))
        before = _team_view(team) if team else None
        if team is None:
            team = Team(name=row.get("name"), created_at=ctx.now)
            db.add(team)
        assign(team, values)
        changes.append((team, before))
    await db.flush()
    for team, before in changes:
        count_and_audit(db, batch, ctx, "team", team.id, before, _team_view(team))


def _team_view(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "wecom_webhook_key": team.wecom_webhook_key,
        "dingtalk_conversation_id": team.dingtalk_conversation_id,
        "dingtalk_webhook": team.dingtalk_webhook,
        "dingtalk_secret": team.dingtalk_secret,  # masked in the audit row
        "wecom_bot_chatid": team.wecom_bot_chatid,
    }
