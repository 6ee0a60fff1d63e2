"""Every warning, card and list a user reads: plain words (no 阈值, 宽限, 证据, 补发, 匹配度, no
dedupe keys), one card per customer, and within the platforms' real limits after fitting."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from bot.dingtalk.payloads import robot_message, webhook_body
from bot.wecom.payloads import app_message, button_card, robot_text
from handlers.alerting.findings import JobResult
from handlers.card_fit import (
    DINGTALK_MSGPARAM_BYTES,
    DINGTALK_WEBHOOK_BYTES,
    WECOM_BUTTON_CHARS,
    WECOM_CARD_BUTTONS,
    WECOM_CARD_TEXT_CHARS,
    WECOM_CARD_TITLE_CHARS,
    WECOM_TEXT_BYTES,
    fit_outgoing,
)
from handlers.chat import Card, Push, Reply, message_as_text
from storage.models import Alert, TaskStatus
from tests.watch.conftest import World, local

BANNED = ("阈值", "宽限", "证据", "补发", "匹配度")
KEY_LIKE = re.compile(r"\b[a-z_]+:[a-z_]+:\d+|\balert:\d+|dedupe")
ROOT = Path(__file__).parents[2]
LONG = "浙江大学医学院附属第一医院（之江院区）放射科设备采购项目"
NOTE = (
    "今天下午和放射科李主任、设备处王处长一起开了会，他们同意把我们的方案和另外两家做对比，"
    "要求我们下周三前给出正式报价和三年维保条款，另外还要补一份同类医院的案例清单"
)


def _texts(result: JobResult) -> list[str]:
    return [message_as_text(p.message) for p in result.pushes]


async def _every_kind(world: World) -> list[JobResult]:
    """Stalls up the whole ladder, an untouched lead, a due and an overdue promise, a silent
    step, task cards not accepted and not done, a late scan after downtime."""
    await world.customer(LONG, stage="谈判", entered=local(2026, 3, 2, 10))
    await world.followup(LONG, at=local(2026, 3, 2, 15), text=NOTE)
    await world.customer("杭州启明科技有限公司", stage="线索", entered=local(2026, 3, 9, 9))
    await world.customer("苏州瑞康药业有限公司", stage="意向", entered=local(2026, 3, 1, 9))
    await world.commitment(
        "苏州瑞康药业有限公司",
        "C-20260305-001",
        "发正式报价并附三年维保条款和同类医院案例清单",
        due=local(2026, 3, 11, 17),
        created=local(2026, 3, 5, 18),
        evidence="3月5日会议纪要第二条：报价须经设备处审核后盖章发出",
    )
    await world.customer("佛山宏达建材", stage="方案", entered=local(2026, 3, 9, 9))
    await world.task(
        "佛山宏达建材",
        pushed=local(2026, 3, 9, 9),
        accept_by=local(2026, 3, 10, 9),
        due=local(2026, 3, 12, 18),
    )
    await world.customer("宁波海川物流有限公司", stage="方案", entered=local(2026, 3, 9, 9))
    await world.task(
        "宁波海川物流有限公司",
        pushed=local(2026, 3, 6, 9),
        accept_by=local(2026, 3, 7, 9),
        due=local(2026, 3, 10, 18),
        status=TaskStatus.ACCEPTED,
    )
    results = []
    for at in (
        local(2026, 3, 10, 10, 15),
        local(2026, 3, 11, 10, 15),
        local(2026, 3, 13, 10, 15),
        local(2026, 3, 14, 9, 0),
        local(2026, 3, 25, 14, 0),  # back after ten days down: late, up to the director
    ):
        results.append(await world.watch(at))
    return results


async def test_no_push_uses_our_words_or_keys_and_each_customer_comes_once(world: World) -> None:
    results = await _every_kind(world)
    pushes = [p for r in results for p in r.pushes]
    rules = {r.rule for result in results for r in result.raised}
    assert {
        "stage_stall",
        "lead_untouched",
        "commitment_due",
        "silent_step",
        "task_accept",
        "task_done",
    } <= rules
    for text in [message_as_text(p.message) for p in pushes] + [
        a.message for a in await world.alerts()
    ]:
        assert not [w for w in BANNED if w in text], text
        assert not KEY_LIKE.search(text), text
    for result in results:
        cards = [p for p in result.pushes if isinstance(p.message, Card)]
        seen = [(p.kind, p.recipient_id, p.message.title.split("·")[0]) for p in cards]  # type: ignore[union-attr]
        assert len(seen) == len(set(seen)), seen


async def test_why_and_handle_answer_in_plain_words_too(world: World) -> None:
    await _every_kind(world)
    for alert in await world.alerts(Alert.user_id == world.users["王磊"]):
        for line in (f"为什么 A{alert.id}", f"处理 A{alert.id}"):
            answer = await world.talk("王磊", line)
            assert not [w for w in BANNED if w in answer], answer
    answer = await world.talk("王磊", "处理 A1")
    assert "即可解除" in answer


async def test_every_card_and_text_fits_each_platform_after_fitting(world: World) -> None:
    results = await _every_kind(world)
    fitted = fit_outgoing([p for r in results for p in r.pushes])
    assert fitted
    for push in fitted:
        assert isinstance(push, Push)
        message = push.message
        if isinstance(message, Card):
            assert len(message.title) <= WECOM_CARD_TITLE_CHARS
            assert len("\n".join(message.lines)) <= WECOM_CARD_TEXT_CHARS
            assert len(message.buttons) <= WECOM_CARD_BUTTONS
            assert all(len(b.label) <= WECOM_BUTTON_CHARS for b in message.buttons)
            assert {"处理", "为什么"} <= {b.label for b in message.buttons}
            body = button_card(message, outbox_id=7)
            assert body["main_title"]["title"] == message.title  # nothing cut by us or WeCom
            assert body["sub_title_text"] == "\n".join(message.lines)
            assert len(body["button_list"]) == len(message.buttons)
        else:
            assert isinstance(message, Reply)
            assert len(message.text.encode()) <= WECOM_TEXT_BYTES
            sent = app_message(1, "wanglei", message, outbox_id=7)
            assert sent["text"]["content"] == message.text
        assert len(message_as_text(message).encode()) <= WECOM_TEXT_BYTES  # robot text
        assert robot_text(message, ())["text"]["content"] == message_as_text(message)
        _, param = robot_message(message, in_group=push.kind == "team")
        assert len(json.dumps(param, ensure_ascii=False).encode()) <= DINGTALK_MSGPARAM_BYTES
        body = webhook_body(message, in_group=True, at_user_ids=["dt_wanglei"])
        assert len(json.dumps(body, ensure_ascii=False).encode()) <= DINGTALK_WEBHOOK_BYTES


def test_no_user_text_in_the_code_uses_our_words() -> None:
    """Every string literal under handlers/ and bot/ (docstrings aside) a user could be shown."""
    found = []
    for folder in ("handlers", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docs = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(
                    node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                )
                and node.body
                and isinstance(node.body[0], ast.Expr)
            }
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docs
                    and any(w in node.value for w in BANNED)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value[:40]}")
    assert found == []
