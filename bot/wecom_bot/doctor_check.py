"""`salesbot doctor` for the 智能机器人: the gateway answers a WebSocket handshake from here.

It does not subscribe: WeCom keeps one connection per bot, and a doctor's subscription would
replace the running instance's (which then stops, as told by `disconnected_event`). The id and
secret are checked by the first subscription of `salesbot serve`, shown in /readyz.
"""

from __future__ import annotations

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from config.settings import Settings


async def wecom_bot_reachable(settings: Settings) -> tuple[bool, str]:
    url = settings.wecom_bot_ws_url
    try:
        async with connect(url, open_timeout=10, ping_interval=None, close_timeout=2):
            pass
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI, WebSocketException) as err:
        return False, (
            f"{url} unreachable from here ({type(err).__name__}: {str(err)[:120]}) — the server "
            "needs outbound HTTPS/WSS to openws.work.weixin.qq.com (no inbound port is needed)"
        )
    return True, (
        f"{url} answers (long connection, no public URL needed); bot id "
        f"{settings.wecom_bot_id} — id and secret are checked at subscribe: see /readyz"
    )
