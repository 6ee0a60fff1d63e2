"""DingTalk (钉钉): HTTP callbacks or the Stream SDK in, robot API and webhooks out."""

from bot.dingtalk.adapter import DingTalkAdapter

__all__ = ["DingTalkAdapter"]
