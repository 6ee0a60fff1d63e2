"""Daily digest per team group: new reds, overdue promises, tasks due, health figures, a chart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerting import alerts
from handlers.alerting.findings import JobResult, Level, Raised, Rule, Subject
from handlers.alerting.ladder import late_window
from handlers.alerting.messages import alert_title, format_span
from handlers.alerting.txn import dry_run_guard
from handlers.chat import Image, Push, RecipientKind, Reply
from handlers.context import Context
from handlers.digest_chart import Rate, RepLoad, render_chart
from handlers.phi import phi_digest_lines
from handlers.pipeline import Pipeline, build_pipeline, money, team_reps, week_line
from handlers.timefmt import format_local, local_midnight
from storage.models import (
    Alert,
    AlertStatus,
    Commitment,
    CommitmentStatus,
    Customer,
    Followup,
    Task,
    TaskStatus,
    Team,
    User,
)

CHART_BUDGET_S = 60.0
log = structlog.get_logger()

RED_LEVELS = (Level.RED, Level.DIRECTOR, Level.OVERDUE)
LISTED = 8  # lines per section; the rest is counted
OPEN_TASKS = (TaskStatus.PUSHED, TaskStatus.ACCEPTED)


@dataclass(frozen=True, slots=True)
class TeamDigest:
    team: Team
    day: date
    text: str
    chart: bytes


async def run_digest(
    db: AsyncSession, ctx: Context, *, now: datetime, dry_run: bool = False
) -> JobResult:
    """Today's digest for every team, once, if digest_at has passed (a late start catches up)."""
    local = now.astimezone(ctx.tz)
    due_at = datetime.combine(local.date(), ctx.rules.digest_at, ctx.tz).astimezone(UTC)
    result = JobResult()
    if now < due_at:
        return result
    async with dry_run_guard(db, dry_run):
        teams = (await db.execute(select(Team).order_by(Team.id))).scalars().all()
        for team in teams:
            members = await digest_members(db, team)
            if not members:
                continue
            day = local.date()
            created = await alerts.insert_new(db, [_marker(team, day, ctx, now=now)])
            if not created:
                continue  # sent already today
            digest = await build_team_digest(db, ctx, team, members, now=now)
            late = now - due_at > late_window(ctx.rules)
            result.raised.append(Raised(f"{team.name}群", Rule.DIGEST, "", Level.INFO, late=late))
            stamp = f"{day:%Y%m%d}"
            result.pushes += [
                Push(
                    RecipientKind.TEAM,
                    team.id,
                    Reply(digest.text),
                    dedupe_key=f"digest:{team.id}:{stamp}:text",
                ),
                Push(
                    RecipientKind.TEAM,
                    team.id,
                    Image(digest.chart, f"{team.name} 流程健康度"),
                    dedupe_key=f"digest:{team.id}:{stamp}:chart",
                ),
            ]
    return result


def _marker(team: Team, day: date, ctx: Context, *, now: datetime) -> dict[str, object]:
    """A resolved alert row per team and day: the digest's once-only key across instances."""
    return {
        "dedupe_key": f"{Rule.DIGEST}:{Subject.TEAM}:{team.id}:{Level.INFO}:{day:%Y%m%d}",
        "rule": Rule.DIGEST,
        "level": Level.INFO,
        "subject_type": Subject.TEAM,
        "subject_id": team.id,
        "customer_id": None,
        "user_id": None,
        "message": f"{team.name} {day:%Y-%m-%d} 每日简报",
        "status": AlertStatus.RESOLVED,
        "created_at": now,
        "resolved_at": now,
        "period_at": local_midnight(day, ctx.tz),
    }


async def digest_members(db: AsyncSession, team: Team) -> dict[int, str]:
    """Everybody active in the team (the manager's own commitments count too)."""
    stmt = select(User.id, User.name).where(User.team_id == team.id, User.active.is_(True))
    return {row[0]: row[1] for row in (await db.execute(stmt.order_by(User.id))).all()}


async def build_team_digest(
    db: AsyncSession, ctx: Context, team: Team, members: dict[int, str], *, now: datetime
) -> TeamDigest:
    day = now.astimezone(ctx.tz).date()
    lines = [f"📊 {team.name} 每日简报 {day:%m月%d日}"]
    lines += await _new_reds(db, members, now=now)
    lines += await _overdue_commitments(db, members, now=now)
    lines += await _tasks_due_today(db, ctx, members, now=now)
    lines += await _snoozed(db, ctx, members)
    reps = await team_reps(db, team)
    pipeline = await build_pipeline(db, ctx.rules, reps, now=now, tz=ctx.tz)
    lines += funnel_lines(pipeline)
    rates = await health_rates(db, ctx, list(members), now=now)
    lines.append(f"📈 流程健康度（近 {ctx.rules.digest_window_days} 天，含更早到期仍未完成的）")
    for rate in rates:
        shown = f"{rate.percent:.0f}%（{rate.done}/{rate.total}）" if rate.total else "暂无数据"
        lines.append(f"· {rate.label}：{shown}")
    lines += await phi_digest_lines(
        db, team_id=team.id, now=now, days=ctx.rules.digest_window_days, tz=ctx.tz
    )
    loads = await rep_loads(db, {m.id: m.name for m in reps}, now=now)
    title = f"{team.name} · {day.month}月{day.day}日 简报"
    # matplotlib holds a thread for ~0.3 s: never on the loop, and never without an end.
    chart = await asyncio.wait_for(
        asyncio.to_thread(render_chart, title, rates, loads), timeout=CHART_BUDGET_S
    )
    return TeamDigest(team, day, "\n".join(lines), chart)


def funnel_lines(p: Pipeline) -> list[str]:
    """Customers and amount per stage, won and lost this week: counted per customer."""
    cells = [
        f"{name} {f.customers}" + (f"（{money(f.amount)}）" if f.amount else "")
        for name in p.stage_names
        if (f := p.stages.get(name)) is not None
    ]
    return [
        "🔻 客户漏斗：" + "｜".join(cells),
        week_line(p),
    ]


def _section(title: str, items: list[str]) -> list[str]:
    if not items:
        return [f"{title}：无"]
    more = [f"……另有 {len(items) - LISTED} 条"] if len(items) > LISTED else []
    return [f"{title}（{len(items)}）", *items[:LISTED], *more]


async def _new_reds(db: AsyncSession, members: dict[int, str], *, now: datetime) -> list[str]:
    stmt = (
        select(Alert, Customer.name)
        .join(Customer, Customer.id == Alert.customer_id, isouter=True)
        .where(
            Alert.user_id.in_(list(members)),
            Alert.level.in_(RED_LEVELS),
            Alert.created_at > now - timedelta(days=1),
        )
        .order_by(Alert.id)
    )
    items = [
        f"A{a.id} {name or ''} {alert_title(a.rule, a.level)}（{members.get(a.user_id or 0, '')}）"
        for a, name in (await db.execute(stmt)).all()
    ]
    return _section("🔴 新增红色预警（24 小时内）", items)


async def _overdue_commitments(
    db: AsyncSession, members: dict[int, str], *, now: datetime
) -> list[str]:
    stmt = (
        select(Commitment, Customer.name)
        .join(Customer, Customer.id == Commitment.customer_id)
        .where(
            Commitment.owner_id.in_(list(members)),
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_at < now,
        )
        .order_by(Commitment.due_at)
    )
    items = [
        f"{c.code} {name}：{c.what}，逾期 {format_span((now - c.due_at).total_seconds())}"
        f"（{members.get(c.owner_id, '')}）"
        for c, name in (await db.execute(stmt)).all()
    ]
    return _section("⏰ 逾期承诺", items)


async def _tasks_due_today(
    db: AsyncSession, ctx: Context, members: dict[int, str], *, now: datetime
) -> list[str]:
    day_start = local_midnight(now.astimezone(ctx.tz).date(), ctx.tz)
    stmt = (
        select(Task, Customer.name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(
            Task.assignee_id.in_(list(members)),
            Task.status.in_((TaskStatus.PLANNED, TaskStatus.PUSHED, TaskStatus.ACCEPTED)),
            Task.due_at >= day_start,
            Task.due_at < day_start + timedelta(days=1),
        )
        .order_by(Task.due_at)
    )
    items = [
        f"#{t.id} {t.title}（{name}）{format_local(t.due_at, ctx.tz)} 前，"
        f"{members.get(t.assignee_id or 0, '')}"
        for t, name in (await db.execute(stmt)).all()
    ]
    return _section("📋 今日到期任务", items)


async def _snoozed(db: AsyncSession, ctx: Context, members: dict[int, str]) -> list[str]:
    """Snoozes are visible to the manager here (and audited)."""
    stmt = (
        select(Alert, Customer.name)
        .join(Customer, Customer.id == Alert.customer_id, isouter=True)
        .where(Alert.user_id.in_(list(members)), Alert.status == AlertStatus.SNOOZED)
        .order_by(Alert.id)
    )
    items = [
        f"A{a.id} {name or ''} {alert_title(a.rule, a.level)}，{members.get(a.user_id or 0, '')}"
        f" 推迟至 {format_local(a.snoozed_until, ctx.tz)}"
        for a, name in (await db.execute(stmt)).all()
        if a.snoozed_until is not None
    ]
    return _section("💤 稍后提醒中", items)


async def health_rates(
    db: AsyncSession, ctx: Context, ids: list[int], *, now: datetime
) -> list[Rate]:
    """Leads touched within the touch window, commitments kept by their due time, tasks on time."""
    since = now - timedelta(days=ctx.rules.digest_window_days)
    touch = timedelta(hours=ctx.rules.lead_touch_hours)
    first_note = (
        select(func.min(Followup.created_at))
        .where(Followup.customer_id == Customer.id, Followup.created_at >= Customer.created_at)
        .scalar_subquery()
    )
    leads = (
        await db.execute(
            select(Customer.created_at, first_note).where(
                Customer.owner_id.in_(ids),
                Customer.created_at <= now - touch,
                # an older lead nobody ever followed up is still late, not out of the window
                or_(Customer.created_at >= since, first_note.is_(None)),
            )
        )
    ).all()
    touched = sum(1 for created, first in leads if first is not None and first <= created + touch)
    hours = ctx.rules.lead_touch_hours
    # Due in the window, or due earlier and still open: an old open promise is overdue,
    # not out of sight.
    commitment_scope = and_(
        Commitment.owner_id.in_(ids),
        Commitment.due_at <= now,
        Commitment.status != CommitmentStatus.CANCELLED,
        or_(Commitment.due_at >= since, Commitment.status == CommitmentStatus.OPEN),
    )
    kept = and_(Commitment.kept_at.is_not(None), Commitment.kept_at <= Commitment.due_at)
    task_scope = and_(
        Task.assignee_id.in_(ids),
        Task.due_at <= now,
        or_(Task.due_at >= since, Task.status.in_(OPEN_TASKS)),
    )
    on_time = and_(Task.done_at.is_not(None), Task.done_at <= Task.due_at)
    return [
        Rate(f"线索 {hours} 小时内跟进", touched, len(leads)),
        await _rate(db, "承诺按期兑现", commitment_scope, kept),
        await _rate(db, "任务按时完成", task_scope, on_time),
    ]


async def _rate(
    db: AsyncSession, label: str, scope: ColumnElement[bool], good: ColumnElement[bool]
) -> Rate:
    total = await db.scalar(select(func.count()).where(scope))
    done = await db.scalar(select(func.count()).where(scope, good))
    return Rate(label, int(done or 0), int(total or 0))


async def rep_loads(db: AsyncSession, reps: dict[int, str], *, now: datetime) -> list[RepLoad]:
    """Each rep's customers under a live warning (the worst level wins, each customer once),
    and overdue commitments, for the chart."""
    ids = list(reps)
    open_alerts = await db.execute(
        select(Alert.user_id, Alert.customer_id, Alert.level)
        .where(
            Alert.user_id.in_(ids),
            Alert.status.in_(alerts.LIVE),
            Alert.customer_id.is_not(None),
            Alert.level != Level.INFO,
        )
        .distinct()
    )
    worst: dict[tuple[int, int], bool] = {}  # (rep, customer) -> red?
    for user_id, customer_id, level in open_alerts.all():
        if user_id is None or customer_id is None:
            continue
        key = (int(user_id), int(customer_id))
        worst[key] = worst.get(key, False) or level in RED_LEVELS
    red: dict[int, int] = {}
    yellow: dict[int, int] = {}
    for (user_id, _customer), is_red in worst.items():
        bucket = red if is_red else yellow
        bucket[user_id] = bucket.get(user_id, 0) + 1
    overdue_rows = await db.execute(
        select(Commitment.owner_id, func.count())
        .where(
            Commitment.owner_id.in_(ids),
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_at < now,
        )
        .group_by(Commitment.owner_id)
    )
    overdue = {row[0]: int(row[1]) for row in overdue_rows.all()}
    return [
        RepLoad(name, red.get(uid, 0), yellow.get(uid, 0), overdue.get(uid, 0))
        for uid, name in reps.items()
    ]
