"""Stage hints in a note: 进入方案阶段 → 方案, 签了合同 → 成交, 丢单了 → 丢单. Only a hint: the
caller checks the funnel rules before moving the customer, and asks when the move is not allowed."""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers.extraction.model import Found

_ENTER = r"(?:进入|进到|推进到|推进至|推到|转入|转到|来到|走到|到了|升级到|进展到)了?\s*"
_NOT = r"(?<![没未不别])"
_WON_NAMES = ("成交", "赢单", "签约", "已成交")
_LOST_NAMES = ("丢单", "输单", "已丢单", "失败")
_WON_RE = re.compile(
    rf"{_NOT}(?:签了(?:合同|约|单)|合同(?:已经|已)?签(?:了|好了|下来了)|已(?:经)?签(?:合同|约)"
    rf"|签约了|签单了|成交了|已(?:经)?成交|拿下了|中标了|已(?:经)?中标)"
    r"|\b(?:signed\s+the\s+(?:contract|deal)|closed\s+the\s+deal|closed[- ]won|deal\s+won)\b",
    re.IGNORECASE,
)
_LOST_RE = re.compile(
    rf"{_NOT}(?:丢单|丢了单|丢了这单|输单|没拿下|选了竞品|选择了竞品|选了别家|放弃合作"
    r"|(?:项目|单子|订单|这单)(?:已经|还是|估计|基本|算是)?(?:丢了|黄了|没戏了)"
    r"|被(?:竞争对手|竞品|友商|对手|别家)[^，。,.]{0,8}(?:拿走|抢走|拿下|抢了))"
    r"|\b(?:lost\s+the\s+deal|closed[- ]lost|went\s+with\s+a\s+competitor)\b",
    re.IGNORECASE,
)


def _named(stages: Sequence[str], names: Sequence[str]) -> str | None:
    return next((stage for stage in stages if stage in names), None)


def find_stage(text: str, stages: Sequence[str]) -> Found[str] | None:
    """The stage the note says the customer moved to, if any; only names from `stages`."""
    hints: list[tuple[int, int, str]] = []
    if stages:
        names = "|".join(sorted(map(re.escape, stages), key=len, reverse=True))
        entered = rf"{_ENTER}(?P<stage>{names})(?:阶段)?"
        # "谈判阶段" alone says where things stand; "上个阶段", "方案阶段前" do not.
        standing = rf"(?<![上前下一个])(?P<stage>{names})阶段(?![前后之以])"
        for said in (entered, standing):
            hints += [(m.start(), m.end(), m["stage"]) for m in re.finditer(said, text)]
    for outcome, names_for in ((_WON_RE, _WON_NAMES), (_LOST_RE, _LOST_NAMES)):
        stage = _named(stages, names_for)
        if stage is not None:
            hints += [(m.start(), m.end(), stage) for m in outcome.finditer(text)]
    if not hints:
        return None
    start, end, stage = max(hints)  # the last one said is where things stand
    return Found(stage, (start, end))
