"""The daily digest: once per team and day at digest_at, with the figures and a readable chart."""

from __future__ import annotations

import io

from handlers.alerting.findings import JobResult
from handlers.chat import Image, RecipientKind, Reply
from handlers.digest import run_digest
from handlers.digest_chart import Rate, RepLoad, find_cjk_font, render_chart
from storage.models import Alert, AlertStatus
from tests.watch.conftest import World, lines, local


async def _digest(world: World, at: object) -> JobResult:
    world.clock.set(at)  # type: ignore[arg-type]
    async with world.sessions() as db, db.begin():
        return await run_digest(db, world.ctx, now=world.clock.now())


async def _busy_day(world: World) -> None:
    await world.customer("杭州启明科技有限公司", stage="意向", entered=local(2026, 3, 2, 10))
    await world.customer("佛山宏达建材", owner="李娜", stage="线索", entered=local(2026, 3, 10, 9))
    await world.followup("佛山宏达建材", at=local(2026, 3, 10, 15), text="电话了解需求", by="李娜")
    await world.commitment(
        "杭州启明科技有限公司",
        "C-20260312-001",
        "发正式报价",
        due=local(2026, 3, 13, 17),
        created=local(2026, 3, 12, 10),
    )
    await world.task(
        "佛山宏达建材",
        pushed=local(2026, 3, 13, 9),
        accept_by=local(2026, 3, 14, 9),
        due=local(2026, 3, 14, 18),
        assignee="李娜",
    )
    await world.watch(local(2026, 3, 13, 10, 15))  # yellow + last chance for 启明
    await world.watch(local(2026, 3, 14, 9))  # red to the group, commitment overdue


async def test_digest_waits_for_its_hour_then_goes_once_to_every_team(world: World) -> None:
    await _busy_day(world)
    early = await _digest(world, local(2026, 3, 14, 8, 55))
    sent = await _digest(world, local(2026, 3, 14, 9, 0))
    again = await _digest(world, local(2026, 3, 14, 9, 30))
    assert (early.raised, again.raised) == ([], [])
    assert lines(sent) == ["华东一组群 | digest | - | info", "华南一组群 | digest | - | info"]
    kinds = [(p.kind, p.recipient_id, type(p.message)) for p in sent.pushes[:2]]
    assert kinds == [
        (RecipientKind.TEAM, world.teams["华东一组"], Reply),
        (RecipientKind.TEAM, world.teams["华东一组"], Image),
    ]


async def test_digest_lists_reds_overdue_promises_tasks_due_today_and_health(
    world: World,
) -> None:
    await _busy_day(world)
    sent = await _digest(world, local(2026, 3, 14, 9, 5))
    text = sent.pushes[0].message.text  # type: ignore[union-attr]
    for part in (
        "📊 华东一组 每日简报 03月14日",
        "🔴 新增红色预警（24 小时内）（2）",
        "杭州启明科技有限公司 客户停滞·已上报主管（王磊）",
        "C-20260312-001 杭州启明科技有限公司：发正式报价，逾期 16 小时（王磊）",
        "#1 交付后满意度回访（佛山宏达建材）3月14日(周六) 18:00 前，李娜",
        "· 线索 24 小时内跟进：50%（1/2）",
        "· 承诺按期兑现：0%（0/1）",
        "· 任务按时完成：暂无数据",
    ):
        assert part in text


async def test_a_late_start_still_sends_todays_digest_marked_late(world: World) -> None:
    await _busy_day(world)
    sent = await _digest(world, local(2026, 3, 14, 15))
    assert lines(sent)[0] == "华东一组群 | digest | - | info | late"


async def test_the_digest_marker_is_a_resolved_alert_so_it_never_shows_as_a_warning(
    world: World,
) -> None:
    await _digest(world, local(2026, 3, 14, 9))
    markers = await world.alerts(Alert.rule == "digest")
    assert {m.status for m in markers} == {AlertStatus.RESOLVED}


def test_the_chart_renders_chinese_with_a_cjk_font() -> None:
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(find_cjk_font()))
    assert all(font.get_char_index(ord(ch)) for ch in "流程健康度各销售待处理红色预警")
    png = render_chart(
        "华东一组 · 3月14日 简报",
        [
            Rate("线索 24 小时内跟进", 9, 12),
            Rate("承诺按期兑现", 7, 10),
            Rate("任务按时完成", 0, 0),
        ],
        [RepLoad("王磊", 2, 3, 1), RepLoad("李娜", 0, 1, 0)],
    )
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")
    assert png.startswith(b"\x89PNG")
    assert pixels.shape[1] >= 1000
