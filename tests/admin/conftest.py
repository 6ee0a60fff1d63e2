"""Admin fixtures: run an import in its own transaction, count rows, a team with its people."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.imports import ImportKind, ImportReport, import_csv

TEAMS_CSV = (
    "name,wecom_webhook,dingtalk_conversation_id,dingtalk_webhook,dingtalk_secret\n"
    "华东一组,"
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b2c-4bc4-97a0-0ec2f1e5a8d1,"
    "cid8Xk2Hq3ZpT0w==,"
    "https://oapi.dingtalk.com/robot/send?access_token=4f2e9c,"
    "SEC7a1b2c3d\n"
    "华南二组,,,,\n"
)
# 陈静 manages 王磊 and 李娜 but comes after them: a manager may be anywhere in the file.
USERS_CSV = (
    "name,role,team,manager,wecom_userid,dingtalk_userid\n"
    "王磊,rep,华东一组,陈静,wanglei,dt_wanglei\n"
    "李娜,rep,华东一组,陈静,lina,dt_lina\n"
    "陈静,manager,华东一组,赵强,chenjing,dt_chenjing\n"
    "赵强,director,,,zhaoqiang,\n"
)
CUSTOMERS_CSV = (
    "name,aliases,owner,stage,level\n"
    "杭州启明科技有限公司,启明科技|启明,王磊,方案,A\n"
    "浙江大学医学院附属第一医院,浙一医院|浙一,李娜,,\n"
)

RunImport = Callable[..., Awaitable[ImportReport]]


@pytest.fixture
def run_import(sessions, clock, rules) -> RunImport:
    """Import in one committed transaction: a refused file must leave nothing behind even so."""

    async def run(kind: ImportKind, content: str | bytes, *, update: bool = False) -> ImportReport:
        data = content.encode("utf-8") if isinstance(content, str) else content
        async with sessions() as db, db.begin():
            return await import_csv(db, kind, data, now=clock.now(), rules=rules, update=update)

    return run


@pytest.fixture
def count(sessions) -> Callable[[Any], Awaitable[int]]:
    async def count_rows(model: Any) -> int:
        async with sessions() as db:
            return int((await db.execute(select(func.count()).select_from(model))).scalar_one())

    return count_rows


@pytest.fixture
async def people(run_import) -> None:
    """华东一组 with 陈静 (manager), 王磊 and 李娜 (reps), 赵强 (director)."""
    assert (await run_import("teams", TEAMS_CSV)).ok
    assert (await run_import("users", USERS_CSV)).ok
