"""WeCom (企业微信) self-built app adapter: callbacks in, app messages, cards and robots out."""

from bot.wecom.adapter import WeComAdapter

__all__ = ["WeComAdapter"]
