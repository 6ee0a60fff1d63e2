"""新客户 / 阶段 / 我的: leads are created, stages only move forward, lights follow the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from storage.models import Customer, StageChange
from tests.core.conftest import SeededTeam


async def stage_of(team: SeededTeam, name: str) -> str:
    return (await team.customer(name)).stage


async def test_a_new_lead_is_owned_by_the_rep_in_the_first_stage(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "新客户 温州东瓯电器有限公司 A")
    async with team.sessions() as db:
        stmt = select(Customer).where(Customer.name == "温州东瓯电器有限公司")
        lead = (await db.execute(stmt)).scalar_one()
    assert (lead.owner_id, lead.stage, lead.level) == (team.users["王磊"], "线索", "A")
    assert lead.stage_entered_at == team.clock.now()
    assert "已创建线索「温州东瓯电器有限公司」（A 级）" in answer


async def test_a_new_lead_without_a_level_is_level_b(team: SeededTeam) -> None:
    await team.talk("王磊", "新客户 温州东瓯电器有限公司")
    async with team.sessions() as db:
        stmt = select(Customer.level).where(Customer.name == "温州东瓯电器有限公司")
        assert (await db.execute(stmt)).scalar_one() == "B"


async def test_a_new_lead_starts_its_stage_history(team: SeededTeam) -> None:
    await team.talk("王磊", "新客户 温州东瓯电器有限公司 C")
    async with team.sessions() as db:
        stmt = (
            select(StageChange.from_stage, StageChange.to_stage)
            .join(Customer, Customer.id == StageChange.customer_id)
            .where(Customer.name == "温州东瓯电器有限公司")
        )
        assert (await db.execute(stmt)).all() == [(None, "线索")]


async def test_a_duplicate_lead_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "新客户 杭州启明科技有限公司")
    assert "客户「杭州启明科技有限公司」已经存在" in answer
    assert "请这样写" in answer
    assert await team.count(Customer) == 5


async def test_a_lead_without_a_name_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "新客户")
    assert "请写上客户名称" in answer
    assert "请这样写：新客户 " in answer


async def test_a_stage_moves_forward(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 启明科技 方案")
    assert "「杭州启明科技有限公司」阶段：线索 → 方案" in answer
    assert await stage_of(team, "杭州启明科技有限公司") == "方案"


async def test_a_stage_move_is_written_to_the_history(team: SeededTeam) -> None:
    team.clock.advance(hours=2)
    await team.talk("王磊", "阶段 启明科技 意向")
    async with team.sessions() as db:
        stmt = select(StageChange).order_by(StageChange.id.desc()).limit(1)
        change = (await db.execute(stmt)).scalar_one()
    customer = await team.customer("杭州启明科技有限公司")
    assert (change.from_stage, change.to_stage, change.by_user_id) == (
        "线索",
        "意向",
        team.users["王磊"],
    )
    assert customer.stage_entered_at == team.clock.now()


async def test_a_stage_does_not_move_backward(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 瑞康 线索")
    assert "不能从「意向」改到「线索」" in answer
    assert "请这样写" in answer
    assert await stage_of(team, "苏州瑞康药业有限公司") == "意向"


async def test_an_unknown_stage_is_refused_with_the_stages(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 启明科技 签合同")
    assert "没有阶段「签合同」，可选：线索、意向、方案、谈判、成交、丢单" in answer
    assert "请这样写" in answer


async def test_a_stage_without_a_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 方案")
    assert "请写上客户和阶段" in answer
    assert "请这样写：阶段 启明科技 方案" in answer


async def test_a_lost_deal_may_be_marked_from_any_open_stage(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 瑞康 丢单")
    assert "意向 → 丢单" in answer
    assert await stage_of(team, "苏州瑞康药业有限公司") == "丢单"


async def test_a_lost_deal_does_not_move_again(team: SeededTeam) -> None:
    await team.talk("王磊", "阶段 瑞康 丢单")
    answer = await team.talk("王磊", "阶段 瑞康 谈判")
    assert "已是「丢单」，阶段不能再改" in answer
    assert await stage_of(team, "苏州瑞康药业有限公司") == "丢单"


async def test_the_same_stage_again_changes_nothing(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 瑞康 意向")
    assert "已经在「意向」阶段" in answer
    assert await team.count(StageChange) == 5


async def test_mine_lists_only_my_customers_all_green_at_first(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "我的")
    lines = answer.splitlines()
    assert lines[0] == "我的客户（2）：🔴0 🟡0 🟢2"
    assert "宏达" not in answer


async def test_mine_turns_yellow_then_red_with_the_clock(team: SeededTeam) -> None:
    # 瑞康 entered 意向 four days earlier than 启明 entered 线索; both stall after 7 days.
    async with team.sessions() as db, db.begin():
        await db.execute(
            update(Customer)
            .where(Customer.id == team.customers["苏州瑞康药业有限公司"])
            .values(stage_entered_at=team.clock.now() - timedelta(days=4))
        )
    team.clock.advance(days=8)
    answer = await team.talk("王磊", "我的")
    lines = answer.splitlines()
    assert lines[0] == "我的客户（2）：🔴1 🟡1 🟢0"
    assert lines[1].startswith("🔴 苏州瑞康药业有限公司")
    assert lines[2].startswith("🟡 杭州启明科技有限公司")
    assert lines[2].endswith("在「线索」8 天没有新进展（要求 7 天内推进）")


async def test_a_followup_restarts_the_stall_clock(team: SeededTeam) -> None:
    team.clock.advance(days=8)
    await team.talk("王磊", "跟进 启明科技 刘总认可方案")
    answer = await team.talk("王磊", "我的")
    assert "🟢 杭州启明科技有限公司" in answer


async def test_the_manager_sees_the_teams_customers_in_mine(team: SeededTeam) -> None:
    answer = await team.talk("陈静", "我的")
    assert answer.splitlines()[0].startswith("我和团队的客户（4）")
    assert "南方电子" not in answer
    # every line names its owner: a manager's list is not a list of ownerless customers
    shown = {line.split("｜")[0][2:]: line.split("｜")[1] for line in answer.splitlines()[1:]}
    assert shown == {
        "杭州启明科技有限公司": "王磊",
        "苏州瑞康药业有限公司": "王磊",
        "佛山宏达建材": "李娜",
        "宁波海川物流有限公司": "李娜",
    }


async def test_a_rep_sees_no_owner_column_in_mine(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "我的")
    assert answer.splitlines()[0].startswith("我的客户（2）")
    assert "王磊" not in answer


async def test_a_stage_counted_in_working_days_skips_the_weekends(team: SeededTeam) -> None:
    # 海川 is in 方案: 10 working days. Two calendar weeks later it has used exactly ten.
    team.clock.advance(days=14)
    on_the_day = await team.talk("李娜", "我的")
    team.clock.advance(days=1)
    a_day_later = await team.talk("李娜", "我的")
    assert (
        "🟢 宁波海川物流有限公司｜B级｜健康分 80｜在「方案」10 个工作日没有新进展"
        "（要求 10 个工作日内推进）" in on_the_day
    )
    assert "🟡 宁波海川物流有限公司" in a_day_later


async def test_a_name_that_fits_two_customers_asks_for_the_full_name(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "阶段 有限公司 方案")
    assert "「有限公司」对应多个客户" in answer
    assert "杭州启明科技有限公司" in answer
    assert "苏州瑞康药业有限公司" in answer
    assert "请这样写" in answer
