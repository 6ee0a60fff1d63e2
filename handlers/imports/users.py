"""Import users: role, team, manager and platform ids, checked against the database and the file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.imports.csvfile import Batch, Context, Row, assign, count_and_audit
from storage.models import Role, Team, User

ROLE_WORDS = {"销售": "rep", "主管": "manager", "经理": "manager", "总监": "director"}
ROLE_WORDS |= {"管理员": "admin"} | {r.value: r.value for r in Role}
PLATFORM_IDS = ("wecom_userid", "dingtalk_userid")


async def import_users(db: AsyncSession, batch: Batch, ctx: Context) -> None:
    teams = {t.name: t.id for t in (await db.execute(select(Team))).scalars()}
    users = {u.name: u for u in (await db.execute(select(User))).scalars()}
    in_file = {row.get("name"): row for row in batch.rows}
    for row in batch.rows:
        role = ROLE_WORDS.get(row.get("role").lower()) if row.get("role") else ""
        if role is None:
            batch.fail(
                row,
                f"角色「{row.get('role')}」不对，应为 rep、manager、director 或 admin "
                "(bad role; expected rep, manager, director or admin)",
            )
        team = row.get("team")
        if team and team not in teams:
            batch.fail(
                row,
                f"没有名为「{team}」的团队，请先导入团队 (unknown team {team}; import teams first)",
            )
        manager = row.get("manager")
        if manager and manager not in users and manager not in in_file:
            batch.fail(
                row,
                f"上级「{manager}」不是已有用户，也不在本文件里 "
                f"(unknown manager {manager}: not in the database or this file)",
            )
    _check_manager_loops(batch, users, in_file)
    _check_platform_ids(batch, users, in_file)
    if batch.errors:
        return
    ids = {u.id: u.name for u in users.values()}
    snapshots = {name: _user_view(u, ids, teams) for name, u in users.items() if name in in_file}
    freed = False
    for row in batch.rows:  # clear ids that move, so a swap between two users never collides
        user = users.get(row.get("name"))
        for column in PLATFORM_IDS:
            if user and row.has(column) and getattr(user, column) != (row.get(column) or None):
                setattr(user, column, None)
                freed = True
    if freed:
        await db.flush()
    for row in batch.rows:
        user = users.get(row.get("name"))
        if user is None:
            user = User(name=row.get("name"), role="rep", active=True, created_at=ctx.now)
            db.add(user)
            users[user.name] = user
        values: dict[str, Any] = {"role": ROLE_WORDS[row.get("role").lower()]}
        if row.has("team"):
            values["team_id"] = teams.get(row.get("team"))
        values |= {c: row.get(c) or None for c in PLATFORM_IDS if row.has(c)}
        assign(user, values)
    await db.flush()
    for row in batch.rows:
        if row.has("manager"):
            boss = users.get(row.get("manager"))
            assign(users[row.get("name")], {"manager_id": boss.id if boss else None})
    await db.flush()
    ids = {u.id: u.name for u in users.values()}
    for row in batch.rows:
        user = users[row.get("name")]
        after = _user_view(user, ids, teams)
        count_and_audit(db, batch, ctx, "user", user.id, snapshots.get(user.name), after)


def _user_view(user: User, names: dict[int, str], teams: dict[str, int]) -> dict[str, Any]:
    team_names = {v: k for k, v in teams.items()}
    return {
        "name": user.name,
        "role": user.role,
        "team": team_names.get(user.team_id) if user.team_id else None,
        "manager": names.get(user.manager_id) if user.manager_id else None,
        "wecom_userid": user.wecom_userid,
        "dingtalk_userid": user.dingtalk_userid,
    }


def _check_manager_loops(batch: Batch, users: dict[str, User], in_file: dict[str, Row]) -> None:
    names = {u.id: u.name for u in users.values()}
    boss = {n: names.get(u.manager_id) if u.manager_id else None for n, u in users.items()}
    boss |= {n: (r.get("manager") or None) for n, r in in_file.items() if r.has("manager")}
    for name, row in in_file.items():
        chain, current = [name], boss.get(name)
        while current and current not in chain:
            chain.append(current)
            current = boss.get(current)
        if current == name:
            loop = " → ".join([*chain, name])
            batch.fail(row, f"上级关系成环：{loop} (manager loop)")


def _check_platform_ids(batch: Batch, users: dict[str, User], in_file: dict[str, Row]) -> None:
    for column in PLATFORM_IDS:
        holder = {getattr(u, column): n for n, u in users.items() if n not in in_file}
        holder = {k: v for k, v in holder.items() if k}
        for name, user in users.items():  # file users that keep their id (column left out)
            if name in in_file and not in_file[name].has(column) and getattr(user, column):
                holder[getattr(user, column)] = name
        lines: dict[str, int] = {}
        for row in batch.rows:
            value = row.get(column)
            if not value:
                continue
            if value in lines:
                batch.fail(
                    row, f"{column}「{value}」与第 {lines[value]} 行相同 (duplicate {column})"
                )
            elif holder.get(value, row.get("name")) != row.get("name"):
                batch.fail(
                    row,
                    f"{column}「{value}」已被「{holder[value]}」使用 "
                    f"({column} already belongs to {holder[value]})",
                )
            lines.setdefault(value, row.line)
