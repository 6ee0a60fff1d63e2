"""Import customers: aliases, owner, stage and level; a stage change is written to the history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.imports.csvfile import Batch, Context, assign, count_and_audit
from storage.models import Customer, StageChange, User

LEVELS = ("A", "B", "C")


async def import_customers(db: AsyncSession, batch: Batch, ctx: Context) -> None:
    owners = {u.name: u for u in (await db.execute(select(User))).scalars()}
    customers = {c.name: c for c in (await db.execute(select(Customer))).scalars()}
    all_names = set(customers) | {row.get("name") for row in batch.rows}
    stages = ctx.rules.stage_names
    for row in batch.rows:
        owner = owners.get(row.get("owner"))
        if row.get("owner") and owner is None:
            batch.fail(
                row, f"负责人「{row.get('owner')}」不是已有用户，请先导入用户 (unknown owner)"
            )
        elif owner is not None and not owner.active:
            batch.fail(row, f"负责人「{owner.name}」已停用 (owner {owner.name} is deactivated)")
        if row.get("stage") and row.get("stage") not in stages:
            batch.fail(
                row,
                f"阶段「{row.get('stage')}」不对，应为 {'、'.join(stages)} 之一 (bad stage)",
            )
        if row.get("level") and row.get("level").upper() not in LEVELS:
            batch.fail(row, f"等级「{row.get('level')}」不对，应为 A、B 或 C (bad level)")
        for alias in split_aliases(row.get("aliases"), row.get("name")):
            if alias in all_names:
                batch.fail(
                    row,
                    f"别名「{alias}」是另一个客户的名称 (alias {alias} is another customer's name)",
                )
    if batch.errors:
        return
    names = {u.id: u.name for u in owners.values()}
    changes: list[tuple[Customer, dict[str, Any] | None]] = []
    for row in batch.rows:
        customer = customers.get(row.get("name"))
        before = _customer_view(customer, names) if customer else None
        stage = row.get("stage") or (customer.stage if customer else ctx.rules.first_stage)
        if customer is None:
            customer = Customer(
                name=row.get("name"),
                aliases=[],
                stage=stage,
                stage_entered_at=ctx.now,
                level="B",
                health_score=ctx.rules.health.start,
                created_at=ctx.now,
            )
            db.add(customer)
        values: dict[str, Any] = {"owner_id": owners[row.get("owner")].id}
        if row.has("aliases"):
            values["aliases"] = split_aliases(row.get("aliases"), row.get("name"))
        if row.get("level"):
            values["level"] = row.get("level").upper()
        if before is not None and before["stage"] != stage:
            values |= {"stage": stage, "stage_entered_at": ctx.now}
        assign(customer, values)
        changes.append((customer, before))
    await db.flush()
    for customer, before in changes:
        if before is None or before["stage"] != customer.stage:
            db.add(
                StageChange(
                    customer_id=customer.id,
                    from_stage=before["stage"] if before else None,
                    to_stage=customer.stage,
                    at=ctx.now,
                    by_user_id=ctx.actor_id,
                )
            )
        after = _customer_view(customer, names)
        count_and_audit(db, batch, ctx, "customer", customer.id, before, after)


def split_aliases(value: str, name: str) -> list[str]:
    """`启明科技|启明` → ["启明科技", "启明"]: trimmed, no blanks or repeats, never the name."""
    aliases: list[str] = []
    for alias in value.replace("｜", "|").split("|"):
        alias = alias.strip()
        if alias and alias != name and alias not in aliases:
            aliases.append(alias)
    return aliases


def _customer_view(customer: Customer, names: dict[int, str]) -> dict[str, Any]:
    return {
        "name": customer.name,
        "aliases": list(customer.aliases),
        "owner": names.get(customer.owner_id) if customer.owner_id else None,
        "stage": customer.stage,
        "level": customer.level,
    }
