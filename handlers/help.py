"""The help text: every command with an example, generated from the router's table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class HasUsage(Protocol):
    @property
    def usage(self) -> str: ...


def help_text(routes: Mapping[str, HasUsage], aliases: Mapping[str, str]) -> str:
    english: dict[str, list[str]] = {}
    for alias, word in aliases.items():
        if alias.isascii() and alias.isalpha():
            english.setdefault(word, []).append(alias)
    lines = ["salesbot 可以这样用（中文命令，括号里是英文别名）："]
    for word, route in routes.items():
        alias = f"（{'/'.join(english[word])}）" if word in english else ""
        lines.append(f"• {route.usage}{alias}")
    lines.append(
        "不写命令词也行：直接发「启明那边刚打完电话，刘总说下周二前要看到方案」就记成跟进；"
        "没写客户时我会问是哪个客户。也可以直接发语音说跟进情况，我会整理成跟进记录。"
    )
    lines.append(
        "拜访时发一个位置，就是现场打卡，会记在你的下一条跟进上；图片、文件可作任务卡凭证。"
    )
    return "\n".join(lines)
