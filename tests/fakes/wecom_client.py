"""Callbacks made the way WeCom makes them: CDATA XML, AES-256-CBC with the corp id, msg_signature.

Written from the protocol (reference §1.2–1.3, §9) with `cryptography`, not with wechatpy, so the
tests check our use of wechatpy against an independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


@dataclass(frozen=True)
class SignedCallback:
    """What WeCom sends: query parameters and (for POST) the XML envelope."""

    params: dict[str, str]
    body: bytes = b""


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeComCallbacks:
    """Builds plaintext callbacks and encrypts and signs them for one corp and app."""

    def __init__(
        self,
        *,
        token: str,
        encoding_aes_key: str,
        corp_id: str,
        agent_id: int,
        now: Callable[[], datetime],
    ) -> None:
        self.token, self.corp_id, self.agent_id = token, corp_id, agent_id
        self._key = base64.b64decode(encoding_aes_key + "=")
        self._now = now
        self._rng = random.Random(20260305)

    # --- crypto --------------------------------------------------------------------------------
    def encrypt(self, plain: str, *, receive_id: str | None = None) -> str:
        body = plain.encode()
        rid = (self.corp_id if receive_id is None else receive_id).encode()
        buf = os.urandom(16) + struct.pack(">I", len(body)) + body + rid
        pad = 32 - len(buf) % 32
        buf += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(buf) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's protocol

    def signed(
        self, encrypt: str, *, timestamp: str | None = None, signature: str | None = None
    ) -> dict[str, str]:
        timestamp = timestamp or str(int(self._now().timestamp()))
        nonce = str(self._rng.randrange(10**9, 10**10))
        return {
            "msg_signature": signature or self.sign(timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def envelope(self, encrypt: str) -> bytes:
        return (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID>"
            f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        ).encode()

    def post(self, xml: str, *, receive_id: str | None = None, **signed: str) -> SignedCallback:
        """A POST callback carrying `xml` (encrypted for `receive_id`, the corp id by default)."""
        encrypt = self.encrypt(xml, receive_id=receive_id)
        return SignedCallback(self.signed(encrypt, **signed), self.envelope(encrypt))

    def url_check(self, echo: str, **signed: str) -> SignedCallback:
        """The GET WeCom sends when the admin saves the callback URL."""
        encrypt = self.encrypt(echo)
        return SignedCallback({**self.signed(encrypt, **signed), "echostr": encrypt})

    # --- plaintext messages (reference §2) -----------------------------------------------------
    def _head(self, sender: str, msg_type: str, create_time: int | None) -> str:
        at = create_time if create_time is not None else int(self._now().timestamp())
        return (
            f"<ToUserName>{cdata(self.corp_id)}</ToUserName><FromUserName>{cdata(sender)}</FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
        )

    def _tail(self, msg_id: int | None) -> str:
        msg = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
        return f"{msg}<AgentID>{self.agent_id}</AgentID>"

    def text(
        self, sender: str, content: str, *, msg_id: int, create_time: int | None = None
    ) -> str:
        return (
            f"<xml>{self._head(sender, 'text', create_time)}<Content>{cdata(content)}</Content>"
            f"{self._tail(msg_id)}</xml>"
        )

    def voice(self, sender: str, media_id: str, *, msg_id: int, fmt: str = "amr") -> str:
        return (
            f"<xml>{self._head(sender, 'voice', None)}<MediaId>{cdata(media_id)}</MediaId>"
            f"<Format>{cdata(fmt)}</Format>{self._tail(msg_id)}</xml>"
        )

    def image(self, sender: str, media_id: str, *, msg_id: int) -> str:
        return (
            f"<xml>{self._head(sender, 'image', None)}"
            f"<PicUrl>{cdata('https://wework.qpic.cn/wwpic/1.jpg')}</PicUrl>"
            f"<MediaId>{cdata(media_id)}</MediaId>{self._tail(msg_id)}</xml>"
        )

    def location(self, sender: str, label: str, *, msg_id: int) -> str:
        return (
            f"<xml>{self._head(sender, 'location', None)}<Location_X>30.2741</Location_X>"
            f"<Location_Y>120.1551</Location_Y><Scale>15</Scale><Label>{cdata(label)}</Label>"
            f"{self._tail(msg_id)}</xml>"
        )

    def video(self, sender: str, *, msg_id: int) -> str:
        return (
            f"<xml>{self._head(sender, 'video', None)}<MediaId>{cdata('v-1')}</MediaId>"
            f"<ThumbMediaId>{cdata('t-1')}</ThumbMediaId>{self._tail(msg_id)}</xml>"
        )

    def link(self, sender: str, title: str, url: str, *, msg_id: int) -> str:
        return (
            f"<xml>{self._head(sender, 'link', None)}<Title>{cdata(title)}</Title>"
            f"<Description>{cdata('')}</Description><Url>{cdata(url)}</Url>"
            f"<PicUrl>{cdata('')}</PicUrl>{self._tail(msg_id)}</xml>"
        )

    def event(
        self, sender: str, name: str, *, create_time: int | None = None, **fields: str
    ) -> str:
        extra = "".join(f"<{k}>{cdata(v)}</{k}>" for k, v in fields.items())
        return (
            f"<xml>{self._head(sender, 'event', create_time)}<Event>{cdata(name)}</Event>"
            f"{extra}{self._tail(None)}</xml>"
        )

    def enter_agent(self, sender: str) -> str:
        return (
            f"<xml>{self._head(sender, 'event', None)}<Event>{cdata('enter_agent')}</Event>"
            f"<EventKey></EventKey>{self._tail(None)}</xml>"
        )

    def card_click(
        self,
        sender: str,
        *,
        key: str,
        task_id: str,
        response_code: str,
        create_time: int | None = None,
    ) -> str:
        """A template_card_event for a button_interaction card (reference §2.2)."""
        return self.event(
            sender,
            "template_card_event",
            create_time=create_time,
            EventKey=key,
            TaskId=task_id,
            CardType="button_interaction",
            ResponseCode=response_code,
        )
