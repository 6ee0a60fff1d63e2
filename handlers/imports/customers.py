"""Import customers: aliases, owner, stage and level; a stage change is written to the history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.duplicates import best_match
from handlers.imports.csvfile import Batch, Context, Row, assign, count_and_audit
from storage import audit
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
    _check_near_duplicates(batch, list(customers.values()))
    if batch.errors:
        return
    names = {u.id: u.name for u in owners.values()}
    changes: list[tuple[Customer, dict[str, Any] | None]] = []
    for row in batch.rows:
        customer = customers.get(row.get("name"))
        before = _customer_view(customer, names) if customer else None
        if customer is not None and before is not None and not ctx.update:
            overwrites = _overwrites(row, before)
            if overwrites:
                batch.hold(row, f"{customer.name}：{'；'.join(overwrites)}")
                batch.unchanged += 1
                continue
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
        if before is not None and ctx.update:
            _audit_per_field(db, batch, ctx, customer.id, before, after)
        else:
            count_and_audit(db, batch, ctx, "customer", customer.id, before, after)


def _overwrites(row: Row, before: dict[str, Any]) -> list[str]:
    """What the row would overwrite: another owner, another stage, aliases dropped."""
    found = []
    if row.get("owner") and row.get("owner") != before["owner"]:
        found.append(f"负责人 现为 {before['owner'] or '（无）'}，文件为 {row.get('owner')}")
    if row.get("stage") and row.get("stage") != before["stage"]:
        found.append(f"阶段 现为 {before['stage']}，文件为 {row.get('stage')}")
    if row.has("aliases"):
        new = split_aliases(row.get("aliases"), row.get("name"))
        dropped = [a for a in before["aliases"] if a not in new]
        if dropped:
            shown = "|".join(new) or "（空）"
            found.append(f"别名 现为 {'|'.join(before['aliases'])}，文件为 {shown}")
    return found


def _audit_per_field(
    db: AsyncSession,
    batch: Batch,
    ctx: Context,
    customer_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """--update: one audit row per field changed, so each overwrite can be traced alone."""
    changed = [k for k in after if before.get(k) != after[k]]
    if not changed:
        batch.unchanged += 1
        return
    batch.updated += 1
    for key in changed:
        audit.record(
            db,
            at=ctx.now,
            actor_id=ctx.actor_id,
            action="import",
            entity="customer",
            entity_id=customer_id,
            before={key: before.get(key)},
            after={key: after[key]},
            note=f"import customers --update: {key}",
        )


def _check_near_duplicates(batch: Batch, existing: list[Customer]) -> None:
    """A new name that is an existing customer written another way (杭州启明科技 for
    杭州启明科技有限公司) is refused: re-import under the existing name, or add it as an alias."""
    known = {c.name for c in existing}
    for row in batch.rows:
        name = row.get("name")
        if not name or name in known:
            continue
        match = best_match(name, existing)
        if match is not None:
            batch.fail(
                row,
                f"「{name}」与已有客户「{match.customer.name}」重复，请用已有名称或把它写成别名 "
                f"(near-duplicate of existing customer {match.customer.name})",
            )


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
