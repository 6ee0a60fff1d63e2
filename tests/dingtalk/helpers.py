"""Small builders shared by the DingTalk delivery tests."""

from __future__ import annotations

from handlers.chat import Message, message_to_payload
from storage.outbox import Address
from storage.queue_models import ItemStatus, OutboxItem


def outbox_item(
    address: Address, message: Message, *, mention: tuple[str, ...] = (), attempts: int = 1
) -> OutboxItem:
    """An outbox row as the sender hands it to deliver() (already taken: attempts counted)."""
    return OutboxItem(
        id=1,
        platform=address.platform,
        channel=address.channel,
        target=address.target,
        rate_key=address.rate_key,
        payload=message_to_payload(message, mention=mention),
        status=ItemStatus.TAKEN,
        attempts=attempts,
    )
