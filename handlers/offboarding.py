"""Offboarding: a leaving rep's customers, open commitments and open tasks go to a colleague."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import UserError
from storage import audit
from storage.models import Commitment, CommitmentStatus, Customer, Task, TaskStatus, User

EXAMPLE = "salesbot users deactivate 王磊 --to 李娜"
CLOSED_TASKS = (TaskStatus.DONE, TaskStatus.MISSED)
NAMES_SHOWN = 10  # a notice lists this many customers, then "等 N 个"


@dataclass(frozen=True, slots=True)
class Notice:
    """A private message for one user; the caller turns it into a chat push."""

    user_id: int
    text: str


@dataclass(frozen=True, slots=True)
class OffboardReport:
    user: str  # the leaving user
    to: str  # who takes over
    customers: list[str] = field(default_factory=list)  # names handed over
    commitments: list[str] = field(default_factory=list)  # codes handed over
    tasks: int = 0
    was_active: bool = True
    direct_reports: list[str] = field(default_factory=list)  # still report to the leaving user
    notices: list[Notice] = field(default_factory=list)

    def lines(self) -> list[str]:
        state = "已停用" if self.was_active else "之前已停用"
        lines = [
            f"{self.user} {state}，转给 {self.to}：客户 {len(self.customers)} 个，"
            f"未兑现承诺 {len(self.commitments)} 个，未完成任务 {self.tasks} 个 "
            f"({self.user} deactivated; handed to {self.to}: {len(self.customers)} customers, "
            f"{len(self.commitments)} open commitments, {self.tasks} open tasks)"
        ]
        if self.customers:
            lines.append("客户 (customers)：" + _listed(self.customers))
        if self.commitments:
            lines.append("承诺 (commitments)：" + "、".join(self.commitments))
        if self.direct_reports:
            lines.append(
                f"注意：{'、'.join(self.direct_reports)} 的上级仍是 {self.user}，请用 "
                f"salesbot import users 改上级 (still report to {self.user})"
            )
        return lines


async def deactivate_user(
    db: AsyncSession, name: str, to: str, *, now: datetime, actor_id: int | None
) -> OffboardReport:
    """Hand over everything still open and deactivate; running it again moves only what is left."""
    leaving, taker = await _find_pair(db, name, to)
    customers = list(
        await db.scalars(
            select(Customer).where(Customer.owner_id == leaving.id).order_by(Customer.id)
        )
    )
    commitments = list(
        await db.scalars(
            select(Commitment)
            .where(Commitment.owner_id == leaving.id, Commitment.status == CommitmentStatus.OPEN)
            .order_by(Commitment.id)
        )
    )
    tasks = list(
        await db.scalars(
            select(Task)
            .where(Task.assignee_id == leaving.id, Task.status.not_in(CLOSED_TASKS))
            .order_by(Task.id)
        )
    )

    def note(
        entity: str, entity_id: int, before: dict[str, object], after: dict[str, object]
    ) -> None:
        audit.record(
            db,
            at=now,
            actor_id=actor_id,
            action="offboard",
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            note=f"{leaving.name} 离职，转给 {taker.name}",
        )

    handover_before = {"owner": leaving.name, "owner_id": leaving.id}
    handover_after = {"owner": taker.name, "owner_id": taker.id}
    for customer in customers:
        customer.owner_id = taker.id
        note("customer", customer.id, handover_before, handover_after)
    for commitment in commitments:
        commitment.owner_id = taker.id
        note("commitment", commitment.id, handover_before, handover_after)
    for task in tasks:
        task.assignee_id = taker.id
        note("task", task.id, handover_before, handover_after)
    was_active = leaving.active
    if was_active:
        leaving.active = False
        note("user", leaving.id, {"active": True}, {"active": False})
    await db.flush()
    reports = (await db.execute(select(User.name).where(User.manager_id == leaving.id))).scalars()
    report = OffboardReport(
        user=leaving.name,
        to=taker.name,
        customers=[c.name for c in customers],
        commitments=[c.code for c in commitments],
        tasks=len(tasks),
        was_active=was_active,
        direct_reports=sorted(n for n in reports if n != leaving.name),
    )
    return _with_notices(report, leaving, taker)


async def _find_pair(db: AsyncSession, name: str, to: str) -> tuple[User, User]:
    name, to = name.strip(), to.strip()
    if name == to:
        raise UserError(f"不能把 {name} 的客户转给他自己，请指定另一位在职同事", example=EXAMPLE)
    found = {u.name: u for u in await db.scalars(select(User).where(User.name.in_([name, to])))}
    if name not in found:
        raise UserError(f"没找到用户「{name}」", example=EXAMPLE)
    if to not in found:
        raise UserError(f"没找到接手人「{to}」，请写在职同事的姓名", example=EXAMPLE)
    if not found[to].active:
        raise UserError(f"接手人「{to}」已停用，请换一位在职同事", example=EXAMPLE)
    return found[name], found[to]


def _with_notices(report: OffboardReport, leaving: User, taker: User) -> OffboardReport:
    """Who must be told: the one taking over, the one leaving, and the leaving rep's manager."""
    what = (
        f"客户 {len(report.customers)} 个、未兑现承诺 {len(report.commitments)} 个、"
        f"未完成任务 {report.tasks} 个"
    )
    listed = f"客户：{_listed(report.customers)}" if report.customers else ""
    if report.commitments:
        listed += ("；" if listed else "") + f"承诺：{'、'.join(report.commitments)}"
    tail = f"\n{listed}" if listed else ""
    notices = [
        Notice(taker.id, f"{leaving.name} 的工作已转给你：{what}。请尽快跟进。{tail}"),
        Notice(leaving.id, f"你的{what}已转给 {taker.name}，账号已停用。"),
    ]
    manager = leaving.manager_id
    if manager is not None and manager not in (taker.id, leaving.id):
        notices.append(Notice(manager, f"{leaving.name} 已停用，{what}已转给 {taker.name}。{tail}"))
    report.notices.extend(notices)
    return report


def _listed(names: list[str]) -> str:
    shown = "、".join(names[:NAMES_SHOWN])
    return f"{shown} 等 {len(names)} 个" if len(names) > NAMES_SHOWN else shown
