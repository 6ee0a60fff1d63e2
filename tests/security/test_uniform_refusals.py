"""Finding 7: another rep's customer or id is refused with the answer a missing one gets."""

from __future__ import annotations

import pytest

from storage.models import AuditEntry
from tests.core.conftest import SeededTeam


@pytest.mark.parametrize(
    "command",
    [
        "阶段 {name} 方案",
        "跟进 {name} 电话沟通了报价",
        "承诺 {name} 发正式报价 下周三17:00",
        "为什么 {name}",
    ],
)
async def test_someone_elses_customer_gets_the_answer_a_missing_customer_gets(
    team: SeededTeam, command: str
) -> None:
    theirs = await team.talk("王磊", command.format(name="宏达建材"))  # 李娜's
    missing = await team.talk("王磊", command.format(name="火星建材"))  # nobody's
    assert theirs.replace("宏达建材", "X") == missing.replace("火星建材", "X")
    assert await team.count(AuditEntry, AuditEntry.action == "denied") == 1  # still audited


async def test_someone_elses_commitment_code_gets_the_answer_a_missing_code_gets(
    team: SeededTeam,
) -> None:
    answer = await team.talk("李娜", "承诺 宏达建材 发正式报价 下周三17:00")
    code = answer.split("承诺 ")[1].split("，")[0] if "承诺 " in answer else ""
    assert code.startswith("C-")
    theirs = await team.talk("王磊", f"兑现 {code}")
    missing = await team.talk("王磊", "兑现 C-20260305-999")
    assert theirs.replace(code, "X") == missing.replace("C-20260305-999", "X")
