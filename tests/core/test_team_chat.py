"""The manager's chat: 团队, 团队承诺, 简报 answer with figures a direct SQL count agrees with."""

from __future__ import annotations

import io
import re

from PIL import Image as PILImage
from sqlalchemy import func, select

from handlers.chat import Image, Push
from handlers.router import dispatch
from storage.models import Customer, User
from tests.core.conftest import SeededTeam


async def _stage_counts(team: SeededTeam, team_name: str) -> dict[str, int]:
    async with team.sessions() as db:
        stmt = (
            select(Customer.stage, func.count())
            .join(User, User.id == Customer.owner_id)
            .where(User.team_id.in_(select(User.team_id).where(User.name == team_name)))
            .group_by(Customer.stage)
        )
        return {stage: int(n) for stage, n in (await db.execute(stmt)).all()}


async def test_team_shows_the_pipeline_by_rep_and_stage(team: SeededTeam) -> None:
    team.clock.advance(days=12)  # 启明 and 宏达 (线索, 7 days) are past 7 + 3: red
    await team.talk("王磊", "跟进 瑞康 电话沟通了方案，预算 12万")
    answer = await team.talk("陈静", "团队")
    lines = answer.splitlines()
    assert lines[0].startswith("👥 华东一组")
    assert "2 名销售，4 个客户，🔴2 🟡0，逾期承诺 0 条" in lines[0]
    cells = lines[1].removeprefix("各阶段：").split("｜")
    stages = {c.split(" ")[0]: c.split(" ")[1].split("，")[0] for c in cells}
    expected = await _stage_counts(team, "陈静")
    assert {k: int(v) for k, v in stages.items() if int(v)} == expected
    assert "意向 1，12万" in lines[1]
    assert any(line.startswith("· 王磊：线索 1｜意向 1，12万；🔴1 🟡0") for line in lines)
    assert any(line.startswith("· 李娜：线索 1｜方案 1；🔴1 🟡0") for line in lines)
    worst = [line for line in lines if re.match(r"\d\. ", line)]
    assert [w.split(" ")[2].split("（")[0] for w in worst][:2] == [
        "佛山宏达建材",
        "杭州启明科技有限公司",
    ]
    assert "陈静" not in answer.split("按销售：")[1]  # the manager is not a rep


async def test_a_manager_reads_another_team_and_a_rep_is_refused(team: SeededTeam) -> None:
    other = await team.talk("周敏", "团队 华东一组")
    assert other.startswith("👥 华东一组")
    assert "4 个客户" in other
    assert "只有主管可以使用" in await team.talk("王磊", "团队")
    assert "没有团队「华北」" in await team.talk("陈静", "团队 华北")
    everyone = await team.talk("赵强", "团队")
    assert "👥 华东一组" in everyone
    assert "👥 华南一组" in everyone


async def test_team_commitments_lists_overdue_first_with_owner_and_days_left(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    await team.talk("李娜", "承诺 宏达 寄样品 周五")
    await team.talk("张伟", "承诺 南方电子 安排演示 周五")
    team.clock.advance(days=3)  # Sunday: 宏达's Friday promise is overdue
    answer = await team.talk("陈静", "团队承诺")
    lines = answer.splitlines()
    assert lines[0] == "📌 华东一组 未兑现的承诺 2 条，其中逾期 1 条："
    assert lines[1].startswith("🔴逾期 2 天 C-20260305-002 佛山宏达建材：寄样品（李娜")
    assert lines[2].startswith("剩 3 天 C-20260305-001 杭州启明科技有限公司：发正式报价（王磊")
    assert "南方电子" not in answer


async def test_digest_on_demand_answers_with_text_and_chart(team: SeededTeam) -> None:
    async with team.sessions() as db, db.begin():
        out = await dispatch(team.event("陈静", "简报"), db, team.ctx)
    assert not any(isinstance(o, Push) for o in out)
    text, chart = out
    assert "华东一组 每日简报" in getattr(text, "text", "")
    assert "🔻 客户漏斗：线索 2｜意向 1｜方案 1｜谈判 0｜成交 0｜丢单 0" in text.text  # type: ignore[union-attr]
    assert isinstance(chart, Image)
    assert PILImage.open(io.BytesIO(chart.png)).size == (1080, 576)
    async with team.sessions() as db, db.begin():
        both = await dispatch(team.event("赵强", "简报 全部"), db, team.ctx)
    assert len(both) == 4
