"""Demo data: a team, its people, a dozen customers in every stage; seeding twice adds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config.rules import Rules
from handlers.codes import next_code
from handlers.demo_funnel import seed_funnel
from handlers.workdays import add_workdays
from storage import audit
from storage.models import (
    Commitment,
    CommitmentStatus,
    Customer,
    CustomerEvent,
    EventKind,
    Followup,
    StageChange,
    Team,
    User,
)

COMMITMENT_CODE_PREFIX = "C"  # as handlers.commitments: C-YYYYMMDD-NNN
TEAM = "华东一组"
DEFAULT_FUNNEL = ("线索", "意向", "方案", "谈判", "成交")  # the stage names the tables below use
# name, role, platform id stem, manager
PEOPLE = (
    ("赵强", "director", "zhaoqiang", None),
    ("陈静", "manager", "chenjing", "赵强"),
    ("王磊", "rep", "wanglei", "陈静"),
    ("李娜", "rep", "lina", "陈静"),
    ("张伟", "rep", "zhangwei", "陈静"),
)


# name | aliases | owner | stages it went through, the last being the current one | level |
# days in the current stage, or yellow / red: just past that stage's stall / escalation threshold
CUSTOMER_TABLE = """
杭州启明科技有限公司       | 启明科技,启明 | 王磊 | 线索>意向>方案           | A | 5
浙江大学医学院附属第一医院 | 浙一医院,浙一 | 李娜 | 线索>意向>方案>谈判      | A | red
佛山宏达建材有限公司       | 宏达建材,宏达 | 张伟 | 线索>意向                | B | yellow
苏州瑞康药业有限公司       | 瑞康药业,瑞康 | 王磊 | 线索                     | B | 2
宁波海川物流有限公司       | 海川物流,海川 | 李娜 | 线索>意向>方案>谈判>成交 | A | 40
上海云帆信息技术有限公司   | 云帆信息,云帆 | 张伟 | 线索>意向>方案           | B | red
温州东瓯电器有限公司       | 东瓯电器,东瓯 | 王磊 | 线索>意向>丢单           | C | 30
南京金陵文化传媒有限公司   | 金陵传媒      | 李娜 | 线索                     | C | 0
合肥新源新能源科技有限公司 | 新源科技,新源 | 张伟 | 线索>意向>方案>谈判      | A | 3
无锡恒通精密机械有限公司   | 恒通机械,恒通 | 王磊 | 线索>意向                | B | 4
嘉兴禾丰农业发展有限公司   | 禾丰农业,禾丰 | 李娜 | 线索>意向                | C | yellow
绍兴柯桥纺织集团有限公司   | 柯桥纺织      | 张伟 | 线索>意向>方案>谈判>成交 | B | 60
"""
# key | customer alias | hours ago | next step due in hours | amount (yuan) | contact | next step |
# the note
FOLLOWUP_TABLE = """
demo-f1 | 启明科技 | 50  | 20  |        | 刘总   | 发正式报价   | 刘总认可方案，周五前给正式报价
demo-f2 | 浙一医院 | 384 |     |        | 王主任 |              | 王主任确认预算，进入商务谈判
demo-f3 | 新源科技 | 26  | 30  | 380000 | 周经理 | 上门谈价格   | 约了采购部周经理周五上门谈价格
demo-f4 | 恒通机械 | 72  | 240 |        | 孙工   | 收集试用反馈 | 寄了样机，客户试用两周后反馈
demo-f5 | 海川物流 | 984 |     |        | 马经理 |              | 合同已签，下月初开始上线部署
demo-f6 | 金陵传媒 | 3   |     |        |        |              | 展会上认识的市场部负责人，留了名片
"""


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    name: str
    aliases: tuple[str, ...]
    owner: str
    path: tuple[str, ...]
    level: str
    entered: int | str  # days, or "yellow" / "red"


@dataclass(frozen=True, slots=True)
class DemoFollowup:
    key: str
    alias: str
    hours_ago: int
    text: str
    contact: str | None
    action: str | None
    due_in_hours: int | None
    amount_yuan: Decimal | None


def _table(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


CUSTOMERS = tuple(
    DemoCustomer(n, tuple(a.split(",")), o, tuple(p.split(">")), lv, int(e) if e.isdigit() else e)
    for n, a, o, p, lv, e in _table(CUSTOMER_TABLE)
)
FOLLOWUPS = tuple(
    DemoFollowup(
        k, a, int(h), t, c or None, n or None, int(d) if d else None, Decimal(y or 0) or None
    )
    for k, a, h, d, y, c, n, t in _table(FOLLOWUP_TABLE)
)
# key, customer alias, what, evidence, created hours ago, due in hours from now, kept
COMMITMENTS = (
    ("demo-c1", "启明科技", "发正式报价", "电话沟通，刘总要求周五前", 50, 20, False),
    ("demo-c2", "新源科技", "提供三家同类客户案例", "上次拜访周经理提出", 24 * 4, -24, False),
    ("demo-c3", "海川物流", "安排上线培训", None, 24 * 42, -24 * 35, True),
)


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)  # what was added, by kind of row

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return any(self.created.values())

    def lines(self) -> list[str]:
        if not self.changed:
            return ["演示数据已经在库里，没有改动 (demo data already present, nothing changed)"]
        labels = {"team": "团队", "user": "用户", "customer": "客户", "stage_change": "阶段记录"}
        labels |= {"followup": "跟进", "commitment": "承诺", "event": "客户事件"}
        labels |= {"lead": "线索", "contract": "合同", "contact": "联系人"}
        parts = [f"{labels.get(k, k)} {n}" for k, n in self.created.items() if n]
        return [
            "演示数据已写入 (demo data seeded)：" + "，".join(parts),
            "试试 (try)：salesbot shell --as 王磊，然后输入「我的」或「跟进 启明 电话沟通了报价」",
        ]


async def seed_demo(
    db: AsyncSession, *, now: datetime, rules: Rules, tz: ZoneInfo | None = None
) -> DemoSummary:
    """Add whatever part of the demo is missing; rows that exist (by name or key) are left alone."""
    tz = tz or ZoneInfo("Asia/Shanghai")
    summary = DemoSummary()
    team = (await db.execute(select(Team).where(Team.name == TEAM))).scalar_one_or_none()
    if team is None:
        team = Team(name=TEAM, created_at=now - timedelta(days=90))
        db.add(team)
        await db.flush()
        _audit(db, summary, now, "team", team.id, {"name": TEAM})
    users = await _seed_users(db, summary, team, now)
    new_customers = await _seed_customers(db, summary, users, now=now, rules=rules, tz=tz)
    await _seed_followups(db, summary, new_customers, now)
    await _seed_commitments(db, summary, new_customers, now, tz)
    for kind, added in (await seed_funnel(db, new_customers, now=now, tz=tz)).items():
        summary.created[kind] = summary.created.get(kind, 0) + added
    return summary


async def _seed_users(
    db: AsyncSession, summary: DemoSummary, team: Team, now: datetime
) -> dict[str, User]:
    names = [p[0] for p in PEOPLE]
    users = {u.name: u for u in (await db.execute(select(User))).scalars()}
    taken = {uid for u in users.values() for uid in (u.wecom_userid, u.dingtalk_userid) if uid}
    for name, role, stem, manager in PEOPLE:
        if name in users:
            continue
        user = User(
            name=name,
            role=role,
            team_id=None if role == "director" else team.id,
            manager_id=users[manager].id if manager else None,
            wecom_userid=stem if stem not in taken else None,
            dingtalk_userid=f"dt_{stem}" if f"dt_{stem}" not in taken else None,
            active=True,
            created_at=now - timedelta(days=90),
        )
        db.add(user)
        await db.flush()
        users[name] = user
        after = {"name": name, "role": role, "team": None if role == "director" else TEAM}
        _audit(db, summary, now, "user", user.id, after | {"manager": manager})
    return {n: users[n] for n in names}


async def _seed_customers(
    db: AsyncSession,
    summary: DemoSummary,
    users: dict[str, User],
    *,
    now: datetime,
    rules: Rules,
    tz: ZoneInfo,
) -> dict[str, Customer]:
    """Create the missing demo customers with their stage history; returns them by first alias."""
    existing = set((await db.execute(select(Customer.name))).scalars())
    created: dict[str, Customer] = {}
    for spec in CUSTOMERS:
        if spec.name in existing:
            continue
        path = list(dict.fromkeys(_configured_stage(rules, name) for name in spec.path))
        entered_at = _entered_at(spec, path[-1], now=now, rules=rules, tz=tz)
        steps = [entered_at - timedelta(days=6 * (len(path) - 1 - i)) for i in range(len(path))]
        customer = Customer(
            name=spec.name,
            aliases=list(spec.aliases),
            owner_id=users[spec.owner].id,
            stage=path[-1],
            stage_entered_at=entered_at,
            level=spec.level,
            health_score=rules.health.start,
            created_at=steps[0],
        )
        db.add(customer)
        await db.flush()
        for previous, stage, at in zip((None, *path), path, steps, strict=False):
            by_user_id = users[spec.owner].id
            db.add(
                StageChange(
                    customer_id=customer.id,
                    from_stage=previous,
                    to_stage=stage,
                    at=at,
                    by_user_id=by_user_id,
                )
            )
            summary.add("stage_change")
        after = {"name": spec.name, "stage": path[-1], "owner": spec.owner}
        _audit(db, summary, now, "customer", customer.id, after)
        created[spec.aliases[0]] = customer
    return created


def _configured_stage(rules: Rules, name: str) -> str:
    """The demo's stage names, mapped by position onto a rules file that renamed the stages."""
    if name in rules.stage_names:
        return name
    if name == "丢单":
        return rules.lost_stage
    funnel = [s for s in rules.stage_names if s != rules.lost_stage]
    position = DEFAULT_FUNNEL.index(name) / (len(DEFAULT_FUNNEL) - 1)
    return funnel[round(position * (len(funnel) - 1))]


def _entered_at(
    spec: DemoCustomer, stage_name: str, *, now: datetime, rules: Rules, tz: ZoneInfo
) -> datetime:
    """Days in the stage, or just past its yellow (stall) or red (stall + grace) threshold."""
    if isinstance(spec.entered, int):
        return now - timedelta(days=spec.entered, hours=5 if spec.entered == 0 else 0)
    stage = rules.stage(stage_name)
    days = (stage.stall_days or 7) + 1
    if spec.entered == "red":
        days += rules.escalation.grace_days + 1
    if not stage.business_days:
        return now - timedelta(days=days)
    local = now.astimezone(tz)
    day = add_workdays(local.date(), -days)
    return datetime.combine(day, local.timetz()).astimezone(now.tzinfo)


async def _seed_followups(
    db: AsyncSession, summary: DemoSummary, customers: dict[str, Customer], now: datetime
) -> None:
    for spec in FOLLOWUPS:
        customer = customers.get(spec.alias)
        if customer is None or customer.owner_id is None:  # not the demo's: leave its history alone
            continue
        at = now - timedelta(hours=spec.hours_ago)
        due_at = now + timedelta(hours=spec.due_in_hours) if spec.due_in_hours else None
        followup = Followup(
            customer_id=customer.id,
            author_id=customer.owner_id,
            created_at=at,
            source="text",
            raw_text=f"跟进 {spec.alias} {spec.text}",
            summary=spec.text,
            contact=spec.contact,
            next_action=spec.action,
            next_action_due_at=due_at,
            amount_yuan=spec.amount_yuan,
            source_message_id=spec.key,
        )
        db.add(followup)
        await db.flush()
        customer.last_evidence_at = max(at, customer.last_evidence_at or at)
        customer.next_step_due_at = due_at or customer.next_step_due_at
        _audit(
            db,
            summary,
            now,
            "followup",
            followup.id,
            {"customer": customer.name, "text": spec.text},
        )
    hai_chuan = customers.get("海川物流")
    if hai_chuan is not None:  # a delivery, so the SOP job has a satisfaction visit to plan
        event = CustomerEvent(
            customer_id=hai_chuan.id,
            kind=EventKind.DELIVERY_DONE,
            occurred_at=now - timedelta(days=5),
            by_user_id=hai_chuan.owner_id,
            source_message_id="demo-e1",
        )
        db.add(event)
        await db.flush()
        _audit(
            db, summary, now, "event", event.id, {"customer": hai_chuan.name, "kind": event.kind}
        )


async def _seed_commitments(
    db: AsyncSession,
    summary: DemoSummary,
    customers: dict[str, Customer],
    now: datetime,
    tz: ZoneInfo,
) -> None:
    for key, alias, what, evidence, hours_ago, due_in_h, kept in COMMITMENTS:
        customer = customers.get(alias)
        if customer is None or customer.owner_id is None:
            continue
        created_at = now - timedelta(hours=hours_ago)
        due_at = now + timedelta(hours=due_in_h)
        # The bot's own counter, so the codes it gives out later continue after the demo's.
        code = await next_code(db, COMMITMENT_CODE_PREFIX, created_at.astimezone(tz).date())
        commitment = Commitment(
            code=code,
            customer_id=customer.id,
            owner_id=customer.owner_id,
            what=what,
            due_at=due_at,
            evidence=evidence,
            status=CommitmentStatus.KEPT if kept else CommitmentStatus.OPEN,
            created_at=created_at,
            kept_at=due_at - timedelta(hours=3) if kept else None,
            last_activity_at=created_at,
            source_message_id=key,
        )
        db.add(commitment)
        await db.flush()
        _audit(db, summary, now, "commitment", commitment.id, {"code": code, "what": what})


def _audit(
    db: AsyncSession,
    summary: DemoSummary,
    now: datetime,
    entity: str,
    entity_id: int,
    after: dict[str, Any],
) -> None:
    audit.record(
        db, at=now, actor_id=None, action="demo", entity=entity, entity_id=entity_id, after=after
    )
    summary.add(entity)
