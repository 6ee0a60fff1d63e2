"""Stage stalls: yellow to the owner, a last chance, red to the manager group, then the director."""

from __future__ import annotations

from structlog.testing import capture_logs

from handlers.alerting.findings import Level, Rule
from handlers.chat import Card, RecipientKind
from storage.models import Alert, AlertStatus, Customer
from tests.watch.conftest import World, lines, local


async def test_customer_past_its_stage_threshold_turns_yellow_and_warns_the_owner(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    quiet = await world.watch(local(2026, 3, 10, 9))  # 7 days 23 h: not past 7 days yet
    result = await world.watch(local(2026, 3, 10, 10, 15))
    assert quiet.raised == []
    assert lines(result) == ["王磊 | stage_stall | 杭州启明科技有限公司 | yellow | A1"]
    push = result.pushes[0]
    assert (push.kind, push.recipient_id, push.urgent) == (
        RecipientKind.USER,
        world.users["王磊"],
        False,
    )
    assert isinstance(push.message, Card)
    assert push.message.lines[0] == (
        "🟡杭州启明科技有限公司在「意向」已经 8 天没有新进展（要求 7 天内推进）。"
    )
    assert "回复「跟进 杭州启明科技有限公司 …」即可解除。" in push.message.lines
    assert [b.label for b in push.message.buttons] == ["处理", "稍后提醒", "为什么"]


async def test_a_second_scan_at_the_same_time_raises_nothing(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    first = await world.watch(local(2026, 3, 10, 10, 15))
    again = await world.watch(local(2026, 3, 10, 10, 15))
    later = await world.watch(local(2026, 3, 10, 16, 0))
    assert (len(first.raised), again.raised, later.raised) == (1, [], [])


async def test_stall_escalates_with_a_last_chance_then_red_next_morning_then_director(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.watch(local(2026, 3, 10, 10, 15))  # yellow
    last_chance = await world.watch(local(2026, 3, 13, 10, 15))  # 11 days > 7 + 3
    waiting = await world.watch(local(2026, 3, 14, 8, 45))
    red = await world.watch(local(2026, 3, 14, 9, 0))
    director = await world.watch(local(2026, 3, 18, 10, 15))  # 16 days > 7 + 3 + 5
    assert lines(last_chance) == ["王磊 | stage_stall | 杭州启明科技有限公司 | last_chance | A2"]
    assert "明早 9:00 前还没有进展，就会告诉主管。" in last_chance.pushes[0].message.lines  # type: ignore[union-attr]
    assert waiting.raised == []
    assert lines(red) == ["华东一组群 | stage_stall | 杭州启明科技有限公司 | red | A3"]
    team_push = red.pushes[0]
    assert (team_push.kind, team_push.recipient_id, team_push.urgent) == (
        RecipientKind.TEAM,
        world.teams["华东一组"],
        True,
    )
    assert team_push.mention_user_ids == (world.users["王磊"],)
    assert lines(director) == ["赵强 | stage_stall | 杭州启明科技有限公司 | director | A4"]
    assert director.pushes[0].urgent


async def test_follow_up_resolves_the_warning_and_restarts_the_clock(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.watch(local(2026, 3, 10, 10, 15))
    await world.followup(
        "杭州启明科技有限公司", at=local(2026, 3, 10, 14), text="电话确认了试用安排"
    )
    after = await world.watch(local(2026, 3, 10, 14, 15))
    (alert,) = await world.alerts()
    assert (after.raised, alert.status) == ([], AlertStatus.RESOLVED)
    again = await world.watch(local(2026, 3, 18, 14, 15))  # 8 days after the follow-up
    assert lines(again) == ["王磊 | stage_stall | 杭州启明科技有限公司 | yellow | A2"]
    assert any("电话确认了试用安排" in line for line in again.pushes[0].message.lines)  # type: ignore[union-attr]


async def test_alerts_record_rule_level_and_episode(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.watch(local(2026, 3, 10, 10, 15))
    (alert,) = await world.alerts(Alert.rule == Rule.STAGE_STALL)
    assert (alert.level, alert.period_at) == (Level.YELLOW, local(2026, 3, 2, 10))


async def test_business_day_stage_skips_the_national_day_week_and_counts_the_make_up_saturday(
    world: World,
) -> None:
    # 方案 counts 10 working days. From Fri 9-25: 9-28..9-30, 10-8, 10-9, Sat 10-10 (a make-up
    # workday), 10-12..10-15 make ten; the eleventh, Fri 10-16, turns it yellow.
    await world.customer("宁波海川物流有限公司", stage="方案", entered=local(2026, 9, 25, 15))
    assert (await world.watch(local(2026, 10, 15, 23, 45))).raised == []
    result = await world.watch(local(2026, 10, 16, 0, 15))
    assert lines(result) == ["王磊 | stage_stall | 宁波海川物流有限公司 | yellow | A1"]
    assert result.pushes[0].message.lines[0] == (  # type: ignore[union-attr]
        "🟡宁波海川物流有限公司在「方案」已经 11 个工作日没有新进展（要求 10 个工作日内推进）。"
    )


async def test_business_days_run_into_a_year_without_holiday_data_on_weekdays_only(
    world: World,
) -> None:
    # 2027 has no official data: Mon–Fri, so 1-1 counts. From Thu 12-24: 12-25, 12-28..12-31,
    # 1-1, 1-4..1-7 make ten; Fri 1-8 is the eleventh.
    await world.customer("宁波海川物流有限公司", stage="方案", entered=local(2026, 12, 24, 11))
    assert (await world.watch(local(2027, 1, 7, 23, 45))).raised == []
    result = await world.watch(local(2027, 1, 8, 0, 15))
    assert lines(result) == ["王磊 | stage_stall | 宁波海川物流有限公司 | yellow | A1"]


async def test_future_next_step_suspends_the_stall_and_it_re_arms_when_the_step_passes_undone(
    world: World,
) -> None:
    await world.customer(
        "苏州瑞康药业有限公司",
        stage="意向",
        entered=local(2026, 3, 2, 10),
        evidence=local(2026, 3, 3, 10),
        next_step=local(2026, 3, 16, 17),  # 下周一 17:00 前给报价
    )
    suspended = await world.watch(local(2026, 3, 14, 10))  # 11 days after evidence
    armed = await world.watch(local(2026, 3, 24, 17, 15))  # 8 days after the step came due
    assert suspended.raised == []
    assert lines(armed) == ["王磊 | stage_stall | 苏州瑞康药业有限公司 | yellow | A1"]
    text = "\n".join(armed.pushes[0].message.lines)  # type: ignore[union-attr]
    assert "计划的下一步 3月16日(周一) 到期后，已经 8 天没有新进展" in text


async def test_after_downtime_the_scan_catches_up_late_and_still_gives_the_last_chance_first(
    world: World,
) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    back = await world.watch(local(2026, 3, 20, 14))  # down for two weeks: past the director
    next_morning = await world.watch(local(2026, 3, 21, 9))
    assert lines(back) == [
        "王磊 | stage_stall | 杭州启明科技有限公司 | yellow | A1 | late",
        "王磊 | stage_stall | 杭州启明科技有限公司 | last_chance | A2 | late",
    ]
    # yellow and last chance for one customer: one message, the worst, saying when it was due
    (push,) = back.pushes
    assert push.message.title == "杭州启明科技有限公司·客户停滞·最后提醒"  # type: ignore[union-attr]
    assert "这条提醒原定 3月13日(周五) 10:00 发出。" in push.message.lines  # type: ignore[union-attr]
    assert "另有 1 条提醒，见「为什么 A2」。" in push.message.lines  # type: ignore[union-attr]
    assert lines(next_morning) == [
        "华东一组群 | stage_stall | 杭州启明科技有限公司 | red | A3",
        "赵强 | stage_stall | 杭州启明科技有限公司 | director | A4 | late",
    ]


async def test_five_stalls_for_one_rep_are_a_card_each_and_escalations_go_one_by_one(
    world: World,
) -> None:
    names = [
        "杭州启明科技有限公司",
        "苏州瑞康药业有限公司",
        "佛山宏达建材",
        "宁波海川物流有限公司",
        "无锡新程机电有限公司",
    ]
    for name in names:
        await world.customer(name, stage="意向", entered=local(2026, 3, 2, 10))
    yellow = await world.watch(local(2026, 3, 10, 10, 15))
    assert len(yellow.raised) == 5
    assert [(p.recipient_id, p.urgent) for p in yellow.pushes] == [(world.users["王磊"], False)] * 5
    titles = sorted(p.message.title for p in yellow.pushes)  # type: ignore[union-attr]
    assert titles == sorted(f"{name}·客户停滞·预警" for name in names)
    assert all(len(p.message.buttons) == 3 for p in yellow.pushes)  # type: ignore[union-attr]
    await world.watch(local(2026, 3, 13, 10, 15))
    red = await world.watch(local(2026, 3, 14, 9))
    assert len(red.pushes) == 5
    assert all(p.urgent and p.kind == RecipientKind.TEAM for p in red.pushes)


async def test_dry_run_reports_the_same_and_writes_nothing(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    dry = await world.watch(local(2026, 3, 10, 10, 15), dry_run=True)
    real = await world.watch(local(2026, 3, 10, 10, 15))
    # PostgreSQL does not roll back sequences, so only the alert code may differ.
    shown = [(r.who, r.rule, r.customer, r.level) for r in dry.raised]
    assert shown == [(r.who, r.rule, r.customer, r.level) for r in real.raised]
    assert len(await world.alerts()) == 1


async def test_a_customer_without_owner_or_with_a_departed_owner_is_skipped_not_fatal(
    world: World,
) -> None:
    await world.customer("无主客户有限公司", owner=None, stage="意向", entered=local(2026, 3, 1))
    await world.customer("孙丽的老客户", owner="孙丽", stage="意向", entered=local(2026, 3, 1))
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    with capture_logs() as logs:
        result = await world.watch(local(2026, 3, 10, 10, 15))
    assert lines(result) == ["王磊 | stage_stall | 杭州启明科技有限公司 | yellow | A1"]
    (skipped,) = [entry for entry in logs if entry["event"] == "watch_rows_skipped"]
    assert (skipped["count"], skipped["reason"]) == (2, "no_active_owner")


async def test_terminal_stages_never_stall_and_a_move_to_one_resolves_the_warning(
    world: World,
) -> None:
    await world.customer("广州南方电子有限公司", stage="成交", entered=local(2026, 1, 2))
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.watch(local(2026, 3, 10, 10, 15))
    async with world.sessions() as db, db.begin():
        customer = await db.get_one(Customer, world.customers["杭州启明科技有限公司"])
        customer.stage, customer.stage_entered_at = "丢单", local(2026, 3, 11)
    result = await world.watch(local(2026, 3, 11, 9))
    statuses = [a.status for a in await world.alerts()]
    assert (result.raised, statuses) == ([], [AlertStatus.RESOLVED])


async def test_six_stalls_for_one_rep_are_four_cards_and_a_list(world: World) -> None:
    names = [f"杭州启明{n:02d}科技有限公司" for n in range(6)]
    for name in names:
        await world.customer(name, stage="意向", entered=local(2026, 3, 2, 10))
    yellow = await world.watch(local(2026, 3, 10, 10, 15))
    cards = [p for p in yellow.pushes if isinstance(p.message, Card)]
    [listed] = [p for p in yellow.pushes if not isinstance(p.message, Card)]
    assert len(cards) == 4
    text = listed.message.text  # type: ignore[union-attr]
    assert text.startswith("还有 2 个客户需要处理：")
    assert sum(name in text for name in names) == 2
