"""WeCom callback crypto: a hardened envelope parse, signature and time checks, wechatpy's AES."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from config.settings import ConfigError

# What wechatpy lets through on garbage that still carries a valid signature (reference §3):
# bad base64, a length not a multiple of 16, a wrong key's bytes that are not UTF-8 or too short.
MAX_NONCE_CHARS = 64
UNDECRYPTABLE = (binascii.Error, ValueError, struct.error, IndexError, TypeError)


class Rejected(Exception):
    """A callback we refuse: the HTTP status to answer and the reason counted in /metrics."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True, slots=True)
class Signed:
    """The query parameters every callback carries."""

    signature: str
    timestamp: str
    nonce: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Signed:
        signature = query.get("msg_signature", "")
        if not signature:
            raise Rejected(401, "bad_signature")
        return cls(signature, query.get("timestamp", ""), query.get("nonce", ""))


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """msg_signature: SHA-1 over the four strings sorted and joined, lowercase hex."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's protocol


def aes_key_from(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey (43 characters from the admin console)."""
    problem = "SALESBOT_WECOM_AES_KEY must be the 43-character EncodingAESKey from the console"
    if len(encoding_aes_key) != 43:
        raise ConfigError(problem)
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as err:
        raise ConfigError(problem) from err
    if len(key) != 32:
        raise ConfigError(problem)
    return key


def read_envelope(body: bytes) -> str:
    """The Encrypt field of the outer XML; DOCTYPE, entities and malformed XML are a 400."""
    if not body.strip():
        raise Rejected(400, "malformed")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise Rejected(400, "doctype") from err
    except (ParseError, ValueError) as err:
        raise Rejected(400, "malformed") from err
    encrypt = root.findtext("Encrypt") if root.tag == "xml" else None
    if not isinstance(encrypt, str) or not encrypt.strip():
        raise Rejected(400, "malformed")
    return encrypt.strip()


class CallbackCrypto:
    """Verifies and decrypts one corp's callbacks; wechatpy does the AES, we add what it lacks."""

    def __init__(self, *, token: str, encoding_aes_key: str, corp_id: str, window_s: int) -> None:
        aes_key_from(encoding_aes_key)  # a clear ConfigError instead of wechatpy's assert
        self._token = token
        self._window_s = window_s
        self._wechat = WeChatCrypto(token, encoding_aes_key, corp_id)

    def verify_url(self, signed: Signed, echostr: str, *, now: datetime) -> str:
        """GET /wecom/callback: the decrypted echostr, to be answered verbatim."""
        if not echostr:
            raise Rejected(400, "malformed")
        # Base64 has no spaces: a space is a "+" that a proxy decoded as form data. Undo it.
        echostr = echostr.replace(" ", "+")
        self._check(signed, echostr, now=now)
        return self._decrypt(lambda: self._wechat.check_signature(*signed_args(signed), echostr))

    def open(self, body: bytes, signed: Signed, *, now: datetime) -> str:
        """POST /wecom/callback: the decrypted inner XML of a genuine, fresh callback."""
        encrypt = read_envelope(body)
        self._check(signed, encrypt, now=now)
        return self._decrypt(
            lambda: self._wechat.decrypt_message({"Encrypt": encrypt}, *signed_args(signed))
        )

    def _check(self, signed: Signed, encrypt: str, *, now: datetime) -> None:
        if not (signed.signature.isascii() and signed.timestamp.isascii()):
            raise Rejected(401, "bad_signature")  # compare_digest refuses non-ASCII str
        if not signed.nonce.isascii() or len(signed.nonce) > MAX_NONCE_CHARS:
            raise Rejected(401, "bad_signature")
        expected = sign(self._token, signed.timestamp, signed.nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), signed.signature.lower().encode()):
            raise Rejected(401, "bad_signature")
        # The signature covers the timestamp, so an old one is a replay: refuse it.
        if not signed.timestamp.isdigit() or len(signed.timestamp) > 12:
            raise Rejected(401, "stale_timestamp")
        if abs(now.timestamp() - int(signed.timestamp)) > self._window_s:
            raise Rejected(401, "stale_timestamp")

    @staticmethod
    def _decrypt(decrypt: Callable[[], str]) -> str:
        try:
            plain = decrypt()
        except InvalidCorpIdException as err:
            raise Rejected(401, "wrong_corp_id") from err
        except InvalidSignatureException as err:  # unreachable after _check; kept as a guard
            raise Rejected(401, "bad_signature") from err
        except UNDECRYPTABLE as err:
            raise Rejected(400, "undecryptable") from err
        return str(plain)


def signed_args(signed: Signed) -> tuple[str, str, str]:
    return signed.signature, signed.timestamp, signed.nonce
