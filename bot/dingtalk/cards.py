"""DingTalk interactive cards (高级版): our Card through the admin's template, updated in place.

`POST /v1.0/card/instances/createAndDeliver` sends a card instance made from the template
`SALESBOT_DINGTALK_CARD_TEMPLATE_ID` to a robot chat (`dtv1.card//IM_ROBOT.<staffId>`) or a group
(`dtv1.card//IM_GROUP.<openConversationId>`); `PUT /v1.0/card/instances` changes its variables
(`updateCardDataByKey`). Clicks come back on the Stream topic `/v1.0/card/instances/callback`
(callbackType STREAM) or to the URL registered for `callbackRouteKey` (HTTP), with the button's
params in `content.cardPrivateData.params` — our buttons send `{"key": "<typed command>"}`.
The template's variables are in deploy/dingtalk/card_template.md; values must be strings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from config.settings import Settings
from handlers.chat import Card, CardUpdate

CREATE_AND_DELIVER = "/v1.0/card/instances/createAndDeliver"
UPDATE = "/v1.0/card/instances"
REGISTER_CALLBACK = "/v1.0/card/callbacks/register"
CALLBACK_PATH = "/dingtalk/card/callback"
ROUTE_KEY = "salesbot"
OUT_TRACK_MAX = 64


def out_track_id(card_id: str, outbox_id: int) -> str:
    """Unique per send (a resent card is a new instance), the same for a retried outbox row."""
    suffix = f"-{outbox_id}"
    return card_id[: OUT_TRACK_MAX - len(suffix)] + suffix


def params(card: Card) -> dict[str, str]:
    buttons = [{"key": b.key, "label": b.label, "primary": b.style == 1} for b in card.buttons]
    return {
        "title": card.title,
        "content": "\n\n".join(card.lines),
        "buttons": json.dumps(buttons, ensure_ascii=False),
        "status": "",
        "source": card.source,
    }


def deliver_body(
    card: Card,
    *,
    template_id: str,
    track_id: str,
    robot_code: str,
    user: str | None = None,
    conversation: str | None = None,
    stream: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cardTemplateId": template_id,
        "outTrackId": track_id,
        "cardData": {"cardParamMap": params(card)},
        "callbackType": "STREAM" if stream else "HTTP",
        "userIdType": 1,
    }
    if not stream:
        body["callbackRouteKey"] = ROUTE_KEY
    if conversation:
        body |= {
            "openSpaceId": f"dtv1.card//IM_GROUP.{conversation}",
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imGroupOpenDeliverModel": {"robotCode": robot_code},
        }
    else:
        body |= {
            "openSpaceId": f"dtv1.card//IM_ROBOT.{user}",
            "imRobotOpenSpaceModel": {"supportForward": True},
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code},
        }
    return body


def update_body(update: CardUpdate) -> dict[str, Any]:
    """The clicked card: its buttons gone, the done label shown (已接受 ✓)."""
    return {
        "outTrackId": update.card_id,
        "cardData": {"cardParamMap": {"status": update.label, "buttons": "[]"}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }


def callback_token(app_secret: str) -> str:
    """The secret part of the HTTP callback URL we register: only DingTalk learns it."""
    digest = hmac.new(app_secret.encode(), b"salesbot card callback", hashlib.sha256)
    return digest.hexdigest()[:32]


def register_body(public_url: str, app_secret: str) -> dict[str, Any]:
    url = f"{public_url.rstrip('/')}{CALLBACK_PATH}?t={callback_token(app_secret)}"
    return {"callbackUrl": url, "callbackRouteKey": ROUTE_KEY, "forceUpdate": True}


def doctor_line(settings: Settings) -> tuple[bool, str]:
    """`salesbot doctor`: which kind of card goes out, and what HTTP mode still needs."""
    template = settings.dingtalk_card_template_id
    if not template:
        return True, (
            "no SALESBOT_DINGTALK_CARD_TEMPLATE_ID: task, voice and warning cards go out as "
            "markdown with reply links (one tap sends the command); import "
            "deploy/dingtalk/card_template.md's template for real interactive cards"
        )
    if settings.dingtalk_mode == "stream":
        return True, f"interactive cards from template {template}; clicks come back over Stream"
    if not settings.dingtalk_public_url:
        return False, (
            f"template {template} in http mode needs SALESBOT_DINGTALK_PUBLIC_URL "
            f"(https://<your domain>) so card clicks can be registered to {CALLBACK_PATH}"
        )
    return True, (
        f"interactive cards from template {template}; clicks registered to "
        f"{settings.dingtalk_public_url.rstrip('/')}{CALLBACK_PATH} at start-up"
    )
