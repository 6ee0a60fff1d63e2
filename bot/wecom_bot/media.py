"""A 智能机器人 picture or file: its (5-minute) url fetched with a size limit, then AES-decrypted.

Each media part carries its own `aeskey` (base64 of a 32-byte key; the IV is its first 16 bytes,
AES-256-CBC, PKCS#7 padding to 32 bytes) — as in aibot-node-sdk src/crypto.ts.
"""

from __future__ import annotations

import base64
import binascii
import json

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.adapter import MediaError

CHUNK = 64 * 1024


async def download(
    http: aiohttp.ClientSession, ref: str | None, *, max_bytes: int, noun: str
) -> bytes:
    if not ref:
        raise MediaError(f"这条消息里没有可下载的{noun}")
    try:
        spec = json.loads(ref)
        url, aeskey = str(spec["url"]), str(spec.get("aeskey") or "")
    except (ValueError, KeyError, TypeError) as err:
        raise MediaError(f"这条{noun}无法读取，请重新发送") from err
    data = bytearray()
    try:
        async with http.get(url) as resp:
            if resp.status != 200:
                raise MediaError(f"这条{noun}已过期或无法下载（链接 5 分钟内有效），请重新发送")
            async for chunk in resp.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise MediaError(
                        f"{noun}太大了（超过 {max_bytes // (1024 * 1024)} MB），请压缩后再发"
                    )
    except (aiohttp.ClientError, TimeoutError) as err:
        raise MediaError(f"暂时无法获取这条{noun}，请稍后重新发送") from err
    return decrypt(bytes(data), aeskey) if aeskey else bytes(data)


def decrypt(data: bytes, aeskey: str) -> bytes:
    try:
        key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4))
        if len(key) != 32 or not data or len(data) % 16:
            raise ValueError("bad key or data length")
        plain = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        out = plain.update(data) + plain.finalize()
        pad = out[-1]
        if not 1 <= pad <= 32 or out[-pad:] != bytes([pad]) * pad:
            raise ValueError("bad padding")
        return out[:-pad]
    except (ValueError, binascii.Error) as err:
        raise MediaError("文件解密失败，请重新发送") from err


def encrypt(data: bytes, aeskey: str) -> bytes:
    """The platform's side, for the fake gateway and tests."""
    key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4))
    pad = 32 - len(data) % 32
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return enc.update(data + bytes([pad]) * pad) + enc.finalize()
