"""People at a customer, as the notes name them (李主任, 设备科陈工): kept per customer, by name."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CustomerContact

# 刘工 is an engineer and 张总 a general manager; the longer titles read as they are.
_SHORT = {"工": "工程师", "总": "总经理", "姐": "", "哥": ""}
_DEPARTMENT = r"([\u4e00-\u9fff]{1,5}?(?:科|部|处|室|办|中心|组))"
_SURNAME_TITLE = re.compile(
    r"^(欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|令狐|宇文|长孙|夏侯|.)(.+)$"
)
NAME_MAX = 100


def title_of(name: str, note: str) -> str | None:
    """设备科陈工 → 设备科工程师; 李主任 → 主任; a role without a surname is its own title."""
    match = _SURNAME_TITLE.match(name)
    honorific = name if match is None or len(name) < 2 else match.group(2)
    honorific = _SHORT.get(honorific, honorific)
    department = re.search(_DEPARTMENT + re.escape(name), note)
    title = (department.group(1) if department else "") + honorific
    return title or None


async def remember_contact(
    db: AsyncSession, *, customer_id: int, name: str, note: str, now: datetime
) -> CustomerContact:
    """The customer's contact of that name, created or refreshed (a title learned later sticks)."""
    name = name.strip()[:NAME_MAX]
    title = title_of(name, note)
    stmt = select(CustomerContact).where(
        CustomerContact.customer_id == customer_id, CustomerContact.name == name
    )
    contact = (await db.execute(stmt)).scalar_one_or_none()
    if contact is None:
        contact = CustomerContact(
            customer_id=customer_id, name=name, title=title, first_seen_at=now, last_seen_at=now
        )
        db.add(contact)
        await db.flush()
        return contact
    contact.last_seen_at = now
    if title and (contact.title is None or len(title) > len(contact.title)):
        contact.title = title
    return contact


async def contacts_of(db: AsyncSession, customer_id: int) -> list[CustomerContact]:
    stmt = (
        select(CustomerContact)
        .where(CustomerContact.customer_id == customer_id)
        .order_by(CustomerContact.last_seen_at.desc(), CustomerContact.id)
    )
    return list((await db.execute(stmt)).scalars())
