"""DingTalk signatures: the HTTP-mode callback check and the custom group robot's URL sign."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote_plus

CALLBACK_WINDOW_MS = 3_600_000  # DingTalk's rule: a callback timestamp is good for one hour


def sign(timestamp_ms: str, secret: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), as both checks use it."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def check_callback(
    timestamp: str | None, signature: str | None, *, secret: str, now_ms: int
) -> str | None:
    """None if the headers are good, else the rejection reason (a metrics label)."""
    if not timestamp or not signature:
        return "missing_signature"
    # "²".isdigit() is True and int() refuses it: ASCII digits only, and a sane length.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        return "bad_timestamp"
    if not signature.isascii() or len(signature) > 100:
        return "bad_signature"
    # The sign covers only the timestamp, not the body: the inbox's msgId key stops replays.
    if abs(now_ms - int(timestamp)) > CALLBACK_WINDOW_MS:
        return "stale_timestamp"
    if not hmac.compare_digest(sign(timestamp, secret).encode(), signature.encode()):
        return "bad_signature"
    return None


def signature_expiry(timestamp: str) -> datetime:
    """When a checked callback timestamp stops being accepted: the replay cache keeps it so long."""
    return datetime.fromtimestamp((int(timestamp) + CALLBACK_WINDOW_MS) / 1000, tz=UTC)


def robot_webhook_query(timestamp_ms: int, secret: str) -> str:
    """`timestamp=…&sign=…` for a custom robot webhook; fresh for every request."""
    return f"timestamp={timestamp_ms}&sign={quote_plus(sign(str(timestamp_ms), secret))}"
