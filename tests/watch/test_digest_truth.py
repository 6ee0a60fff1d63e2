"""The digest tells the truth on the demo data: its figures equal direct SQL counts (customers,
not warning rows; reps, not managers; old open promises still count), and the chart opens."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from sqlalchemy import text

from handlers.context import Context
from handlers.demo import seed_demo
from handlers.digest import build_team_digest, digest_members, health_rates, rep_loads
from handlers.digest_chart import find_cjk_font, render_chart
from handlers.pipeline import build_pipeline, team_reps
from handlers.watch.scan import run_watch
from storage.models import Team

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCS_EXAMPLE = Path(__file__).parents[2] / "docs" / "digest_example.png"
CHART_SIZE = (1080, 576)  # 9 × 4.8 inches at 120 dpi


async def _demo_with_warnings(sessions, clock, rules):  # type: ignore[no-untyped-def]
    async with sessions() as db, db.begin():
        await seed_demo(db, now=clock.now(), rules=rules, tz=SHANGHAI)
    ctx = Context(clock=clock, rules=rules, tz=SHANGHAI)
    for days in (3, 6, 9, 40):  # warnings pile up; promises fall far behind the 30-day window
        clock.current = clock.current + timedelta(days=days)
        async with sessions() as db, db.begin():
            await run_watch(db, ctx, now=clock.now())
    return ctx


async def _sql(db, query: str, **params):  # type: ignore[no-untyped-def]
    return (await db.execute(text(query), params)).all()


async def test_digest_figures_match_a_direct_count(sessions, clock, rules) -> None:  # type: ignore[no-untyped-def]
    ctx = await _demo_with_warnings(sessions, clock, rules)
    now = clock.now()
    async with sessions() as db:
        team = (await db.execute(Team.__table__.select())).first()
        team_row = await db.get(Team, team.id)
        assert team_row is not None
        reps = await team_reps(db, team_row)
        members = await digest_members(db, team_row)
        loads = {
            load.name: load for load in await rep_loads(db, {m.id: m.name for m in reps}, now=now)
        }
        pipeline = await build_pipeline(db, rules, reps, now=now, tz=SHANGHAI)
        rates = {r.label: r for r in await health_rates(db, ctx, list(members), now=now)}
        digest = await build_team_digest(db, ctx, team_row, members, now=now)
        rep_names = await _sql(
            db, "SELECT name FROM users WHERE team_id = :t AND role = 'rep' AND active", t=team.id
        )
        per_rep = await _sql(
            db,
            "SELECT u.name, a.customer_id, MAX(CASE WHEN a.level IN ('red','director','overdue')"
            " THEN 1 ELSE 0 END) FROM alerts a JOIN users u ON u.id = a.user_id"
            " WHERE a.status IN ('open','snoozed') AND a.customer_id IS NOT NULL"
            " AND a.level <> 'info' AND u.role = 'rep' GROUP BY u.name, a.customer_id",
        )
        stages = await _sql(
            db,
            "SELECT c.stage, COUNT(*) FROM customers c JOIN users u ON u.id = c.owner_id"
            " WHERE u.team_id = :t AND u.role = 'rep' GROUP BY c.stage",
            t=team.id,
        )
        alert_rows = await _sql(
            db, "SELECT COUNT(*) FROM alerts WHERE status IN ('open','snoozed')"
        )
        promises = await _sql(
            db,
            "SELECT COUNT(*), SUM(CASE WHEN kept_at IS NOT NULL AND kept_at <= due_at THEN 1"
            " ELSE 0 END) FROM commitments WHERE due_at <= :now AND status <> 'cancelled'"
            " AND (due_at >= :since OR status = 'open')",
            now=now,
            since=now - timedelta(days=rules.digest_window_days),
        )
        old_open = await _sql(
            db,
            "SELECT COUNT(*) FROM commitments WHERE status = 'open' AND due_at < :since",
            since=now - timedelta(days=rules.digest_window_days),
        )
    # managers are not plotted as reps
    assert sorted(loads) == sorted(n for (n,) in rep_names)
    assert "陈静" not in loads
    # red/yellow count customers, the worst live warning of each, never warning rows
    for name, load in loads.items():
        mine = [red for n, _c, red in per_rep if n == name]
        assert (load.red, load.yellow) == (sum(mine), len(mine) - sum(mine)), name
    assert sum(load.red + load.yellow for load in loads.values()) < alert_rows[0][0]
    # the funnel is the customers per stage
    assert {s: f.customers for s, f in pipeline.stages.items() if f.customers} == dict(stages)
    assert "🔻 客户漏斗：" in digest.text
    # a promise due in the window and still open counts (as not kept), however old it is
    total, kept = promises[0]
    assert (rates["承诺按期兑现"].total, rates["承诺按期兑现"].done) == (total, kept or 0)
    assert old_open[0][0] > 0  # due before the 30-day window and still open: counted
    assert total >= old_open[0][0]
    # the chart opens, at its size, drawn with a font that has every Chinese label
    chart = PILImage.open(io.BytesIO(digest.chart))
    assert (chart.format, chart.size) == ("PNG", CHART_SIZE)


def test_the_chart_font_has_every_label_and_the_docs_example_is_a_chart() -> None:
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(find_cjk_font()))
    labels = "流程健康度各销售待处理红色预警客户黄色逾期承诺百分比虚线为目标暂无数据简报"
    assert all(font.get_char_index(ord(ch)) for ch in labels)
    png = render_chart("华东一组 · 3月14日 简报", [], [])
    assert PILImage.open(io.BytesIO(png)).size == CHART_SIZE
    example = PILImage.open(DOCS_EXAMPLE)
    assert (example.format, example.size) == ("PNG", CHART_SIZE)
