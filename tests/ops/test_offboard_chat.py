"""停用 <姓名> 转给 <姓名> from chat: who may, what moves, who is told, what the audit log keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers import router
from handlers.chat import Outgoing, Push, Reply, message_as_text
from handlers.offboarding_chat import offboard_from_chat
from storage.models import (
    AuditEntry,
    Commitment,
    CommitmentStatus,
    Customer,
    Role,
    Task,
    TaskStatus,
    User,
)
from tests.core.conftest import SeededTeam


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route as handlers/router.py registers it (added here until it is)."""
    if "停用" not in router.ROUTES:
        route = router.Route(offboard_from_chat, "停用 <姓名> 转给 <姓名>", needs=Role.MANAGER)
        monkeypatch.setitem(router.ROUTES, "停用", route)
        monkeypatch.setitem(router.ALIASES, "offboard", "停用")


@pytest.fixture
async def open_work(team: SeededTeam) -> dict[str, int]:
    """王磊's open commitment and task, and a kept commitment and a done task that stay his."""
    now = team.clock.now()
    wanglei, qiming = team.users["王磊"], team.customers["杭州启明科技有限公司"]
    ids: dict[str, int] = {}
    async with team.sessions() as db, db.begin():
        for code, status in (("C-20260305-001", CommitmentStatus.OPEN), ("C-20260301-001", "kept")):
            commitment = Commitment(
                code=code, customer_id=qiming, owner_id=wanglei, what="发正式报价",
                due_at=now + timedelta(days=2), status=status, created_at=now,
                last_activity_at=now,
            )  # fmt: skip
            db.add(commitment)
            await db.flush()
            ids[code] = commitment.id
        for key, status in (("visit", TaskStatus.PUSHED), ("usage", TaskStatus.DONE)):
            task = Task(
                dedupe_key=f"{key}:1", template_key=key, title="满意度回访", customer_id=qiming,
                assignee_id=wanglei, push_at=now, accept_by=now + timedelta(days=1),
                due_at=now + timedelta(days=3), status=status, last_activity_at=now,
                created_at=now,
            )  # fmt: skip
            db.add(task)
            await db.flush()
            ids[key] = task.id
    return ids


async def say(team: SeededTeam, user: str, text: str) -> list[Outgoing]:
    async with team.sessions() as db, db.begin():
        return await router.dispatch(team.event(user, text), db, team.ctx)


def answer(outgoing: list[Outgoing]) -> str:
    return "\n".join(message_as_text(o) for o in outgoing if not isinstance(o, Push))


def pushed_to(team: SeededTeam, outgoing: list[Outgoing]) -> dict[str, str]:
    names = {user_id: name for name, user_id in team.users.items()}
    return {
        names[o.recipient_id]: message_as_text(o.message) for o in outgoing if isinstance(o, Push)
    }


async def owner_of(team: SeededTeam, model: type, row_id: int) -> str:
    column = Task.assignee_id if model is Task else model.owner_id
    async with team.sessions() as db:
        user_id = (await db.execute(select(column).where(model.id == row_id))).scalar_one()
        return (await db.get_one(User, user_id)).name


async def is_active(team: SeededTeam, name: str) -> bool:
    async with team.sessions() as db:
        return (await db.get_one(User, team.users[name])).active


async def test_a_manager_hands_a_leaving_reps_open_work_to_a_colleague(team, open_work) -> None:
    reply = answer(await say(team, "陈静", "停用 王磊 转给 李娜"))

    assert reply.startswith(
        "王磊 已停用，工作已转给 李娜：客户 2 个、未兑现承诺 1 个、未完成任务 1 个"
    )
    assert "杭州启明科技有限公司、苏州瑞康药业有限公司" in reply
    assert not await is_active(team, "王磊")
    for customer in ("杭州启明科技有限公司", "苏州瑞康药业有限公司"):
        assert await owner_of(team, Customer, team.customers[customer]) == "李娜"
    assert await owner_of(team, Commitment, open_work["C-20260305-001"]) == "李娜"
    assert await owner_of(team, Task, open_work["visit"]) == "李娜"


async def test_kept_commitments_and_done_tasks_stay_with_the_leaving_rep(team, open_work) -> None:
    await say(team, "陈静", "停用 王磊 转给 李娜")

    assert await owner_of(team, Commitment, open_work["C-20260301-001"]) == "王磊"
    assert await owner_of(team, Task, open_work["usage"]) == "王磊"


async def test_both_reps_are_told_and_the_manager_reads_the_summary(team, open_work) -> None:
    outgoing = await say(team, "陈静", "停用 王磊 转给 李娜")

    told = pushed_to(team, outgoing)
    assert set(told) == {"李娜", "王磊"}
    assert told["李娜"].startswith("王磊 的工作已转给你")
    assert "李娜" in told["王磊"]
    assert "已停用" in told["王磊"]
    assert answer(outgoing).endswith("已通知：李娜、王磊")


async def test_a_director_offboarding_also_tells_the_reps_manager(team, open_work) -> None:
    outgoing = await say(team, "赵强", "停用 王磊 转给 李娜")

    told = pushed_to(team, outgoing)
    assert set(told) == {"李娜", "王磊", "陈静"}
    assert told["陈静"].startswith("王磊 已停用")


async def test_every_handover_is_audited_with_who_did_it(team, open_work) -> None:
    await say(team, "陈静", "停用 王磊 转给 李娜")

    async with team.sessions() as db:
        rows = list(
            await db.scalars(
                select(AuditEntry).where(AuditEntry.action == "offboard").order_by(AuditEntry.id)
            )
        )
    assert sorted(row.entity for row in rows) == [
        "commitment",
        "customer",
        "customer",
        "task",
        "user",
    ]
    assert {row.actor_id for row in rows} == {team.users["陈静"]}
    handover = next(row for row in rows if row.entity == "customer")
    assert (handover.before or {})["owner"] == "王磊"
    assert (handover.after or {})["owner"] == "李娜"


async def test_a_rep_may_not_offboard_anyone(team, open_work) -> None:
    reply = answer(await say(team, "李娜", "停用 王磊 转给 李娜"))

    assert reply == "「停用」只有主管可以使用"
    assert await is_active(team, "王磊")
    assert "denied" in await team.audit_actions()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("停用 张伟 转给 李娜", "「张伟」不在你的团队"),
        ("停用 王磊 转给 张伟", "「张伟」不在你的团队，只能转给你团队的同事或你自己"),
        ("停用 周敏 转给 李娜", "主管只能停用销售"),
    ],
)
async def test_a_manager_acts_only_on_reps_of_their_own_team(
    team, open_work, text, problem
) -> None:
    reply = answer(await say(team, "陈静", text))

    assert reply.startswith(problem)
    assert await is_active(team, "王磊")
    assert await is_active(team, "张伟")
    assert await is_active(team, "周敏")
    assert await owner_of(team, Customer, team.customers["杭州启明科技有限公司"]) == "王磊"
    assert "denied" in await team.audit_actions()
    assert "offboard" not in await team.audit_actions()


async def test_a_manager_may_take_the_work_over_personally(team, open_work) -> None:
    outgoing = await say(team, "陈静", "停用 王磊 转给 陈静")

    assert answer(outgoing).startswith("王磊 已停用，工作已转给 陈静")
    assert set(pushed_to(team, outgoing)) == {"王磊"}


async def test_a_director_may_offboard_a_manager(team) -> None:
    reply = answer(await say(team, "赵强", "停用 周敏 转给 陈静"))

    assert reply.startswith("周敏 已停用，工作已转给 陈静")
    assert not await is_active(team, "周敏")
    assert "张伟 的上级仍是 周敏" in reply


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("停用 王磊", "请写清楚停用谁、转给谁。请这样写：停用 王磊 转给 李娜"),
        ("停用 王小明 转给 李娜", "没找到用户「王小明」"),
        ("停用 王磊 转给 孙丽", "接手人「孙丽」已停用"),
        ("停用 陈静 转给 李娜", "不能停用你自己的账号"),
    ],
)
async def test_what_cannot_be_done_is_explained_with_an_example(team, text, problem) -> None:
    reply = answer(await say(team, "陈静", text))

    assert reply.startswith(problem)
    assert await is_active(team, "王磊")
    assert "offboard" not in await team.audit_actions()


async def test_the_english_alias_works(team, open_work) -> None:
    reply = answer(await say(team, "陈静", "offboard 王磊 to 李娜"))

    assert reply.startswith("王磊 已停用")


async def test_the_deactivated_rep_gets_a_clear_answer_afterwards(team, open_work) -> None:
    await say(team, "陈静", "停用 王磊 转给 李娜")

    outgoing = await say(team, "王磊", "我的")

    assert outgoing == [Reply("你的账号已停用，客户和任务已移交。如有疑问请联系主管")]
