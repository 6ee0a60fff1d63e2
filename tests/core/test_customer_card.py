"""客户 <名称>: the customer card, each item with the command that acts on it; 我的 shows health."""

from __future__ import annotations

from datetime import timedelta

from handlers.router import dispatch
from storage.models import Alert, AlertStatus, Task, TaskStatus
from tests.core.conftest import SeededTeam


async def test_the_card_shows_owner_level_stage_days_and_health(team: SeededTeam) -> None:
    team.clock.advance(days=3)
    card = await team.talk("王磊", "客户 启明")
    assert "【客户】杭州启明科技有限公司（启明科技、启明）" in card
    assert "负责人：王磊（我）｜等级：B｜健康分：80" in card
    assert "阶段：线索，已 3 天" in card
    assert "推进：阶段 杭州启明科技有限公司 意向" in card


async def test_the_card_lists_the_last_five_followups_newest_first(team: SeededTeam) -> None:
    for day in range(7):
        await team.talk("王磊", f"跟进 启明科技 第{day + 1}次电话沟通需求，下周三前给反馈")
        team.clock.advance(hours=1)
    card = await team.talk("王磊", "客户 启明科技")
    assert "最近跟进（5）：" in card
    assert "第7次电话沟通需求" in card
    assert "第2次" not in card
    assert "下一步：给反馈（3月11日）" in card
    notes = [line for line in card.splitlines() if "电话沟通需求" in line]
    assert [line.count("下一步：") for line in notes] == [1] * 5  # the next step shown once
    assert card.index("第7次") < card.index("第3次")


async def test_the_card_lists_open_commitments_with_the_command_to_keep_them(
    team: SeededTeam,
) -> None:
    await team.talk("王磊", "承诺 启明科技 发正式报价 下周三17:00")
    card = await team.talk("王磊", "客户 启明科技")
    assert "未兑现承诺（1）：" in card
    assert "C-20260305-001 发正式报价，截止 3月11日(周三) 17:00 → 兑现 C-20260305-001" in card


async def test_the_card_lists_open_tasks_and_the_current_warning(team: SeededTeam) -> None:
    now = team.clock.now()
    customer_id = team.customers["杭州启明科技有限公司"]
    async with team.sessions() as db, db.begin():
        task = Task(
            dedupe_key="t1",
            template_key="satisfaction_visit",
            title="交付后满意度回访",
            checklist=[],
            customer_id=customer_id,
            assignee_id=team.users["王磊"],
            push_at=now,
            accept_by=now + timedelta(days=1),
            due_at=now + timedelta(days=3),
            status=TaskStatus.PUSHED,
            last_activity_at=now,
            created_at=now,
        )
        alert = Alert(
            dedupe_key="a1",
            rule="stage_stall",
            level="yellow",
            subject_type="customer",
            subject_id=customer_id,
            customer_id=customer_id,
            user_id=team.users["王磊"],
            message="🟡杭州启明科技有限公司 在「线索」停留 8 天\n……",
            status=AlertStatus.OPEN,
            created_at=now,
        )
        db.add_all([task, alert])
        await db.flush()
        task_id, alert_id = task.id, alert.id
    card = await team.talk("王磊", "客户 启明科技")
    assert f"#{task_id} 交付后满意度回访" in card
    assert f"→ 接受 {task_id}" in card
    assert f"当前预警：A{alert_id} 🟡杭州启明科技有限公司 在「线索」停留 8 天" in card
    assert f"为什么 A{alert_id}" in card


async def test_a_manager_sees_the_owners_name(team: SeededTeam) -> None:
    card = await team.talk("陈静", "客户 启明科技")
    assert "负责人：王磊｜" in card


async def test_another_reps_customer_is_refused(team: SeededTeam) -> None:
    answer = await team.talk("王磊", "客户 宏达建材")
    assert "不是你负责的客户" in answer


async def test_a_note_that_starts_with_kehu_is_still_a_note(team: SeededTeam) -> None:
    event = team.event("王磊", "客户说启明科技下周三前要看到方案")
    async with team.sessions() as db, db.begin():
        out = await dispatch(event, db, team.ctx)
    assert "已记录跟进（杭州启明科技有限公司）" in out[0].text  # type: ignore[union-attr]


async def test_mine_shows_the_health_score(team: SeededTeam) -> None:
    assert "健康分 80" in await team.talk("王磊", "我的")
