"""A voice transcript repaired by sound before it is read: against the rules' sales lexicon and
the sender's own words (customer names, aliases, the contacts of that customer's follow-ups)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from handlers.extraction import CustomerRef, find_customer
from handlers.extraction.repair import Repaired, customer_words, repair_transcript
from storage.models import Followup

CONTACTS_PER_CUSTOMER = 20  # the most recent distinct contacts of the customer the note names


async def known_contacts(db: AsyncSession, customer_id: int) -> list[str]:
    stmt = (
        select(Followup.contact)
        .where(Followup.customer_id == customer_id, Followup.contact.is_not(None))
        .order_by(Followup.created_at.desc())
        .limit(CONTACTS_PER_CUSTOMER * 3)
    )
    contacts = [c for (c,) in (await db.execute(stmt)).all() if c]
    return list(dict.fromkeys(contacts))[:CONTACTS_PER_CUSTOMER]


async def repair_voice_text(
    db: AsyncSession, ctx: Context, transcript: str, customers: Sequence[CustomerRef]
) -> Repaired:
    """The transcript with sound-alike spans replaced (handlers/extraction/repair.py)."""
    linked = find_customer(transcript, customers).best
    contacts = await known_contacts(db, linked.value.id) if linked is not None else []
    return repair_transcript(
        transcript, ctx.rules.lexicon_words, trusted=customer_words(customers, contacts)
    )


def repairs_record(repaired: Repaired) -> list[dict[str, object]]:
    """What was replaced, for the follow-up's asr record."""
    return [
        {"start": f.start, "end": f.end, "heard": f.heard, "word": f.word} for f in repaired.fixes
    ]
