"""Every board page and data endpoint applies the chat's permissions on the server: 403s."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Team, User
from tests.board.conftest import Board, SignIn

QIMING = "杭州启明科技有限公司"  # 王磊's, 华东一组
HONGDA = "佛山宏达建材"  # 李娜's, 华东一组
NANFANG = "广州南方电子有限公司"  # 张伟's, 华南一组


async def team_id(board: Board, name: str) -> int:
    async with board.team.sessions() as db:
        return (await db.execute(select(Team.id).where(Team.name == name))).scalar_one()


@pytest.mark.parametrize("suffix", ["", ".csv"])
async def test_a_rep_gets_403_for_another_reps_customer(
    board: Board, sign_in: SignIn, suffix: str
) -> None:
    client = await sign_in("王磊")
    response = await client.get(f"/board/customers/{board.team.customers[HONGDA]}{suffix}")
    assert response.status == 403
    assert HONGDA not in await response.text()


async def test_a_rep_may_open_their_own_customer(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("王磊")
    response = await client.get(f"/board/customers/{board.team.customers[QIMING]}")
    assert response.status == 200
    assert QIMING in await response.text()


@pytest.mark.parametrize("suffix", ["", ".csv"])
async def test_a_rep_gets_403_for_another_reps_page(
    board: Board, sign_in: SignIn, suffix: str
) -> None:
    client = await sign_in("王磊")
    assert (await client.get(f"/board/reps/{board.team.users['李娜']}{suffix}")).status == 403


@pytest.mark.parametrize(
    "path", ["/board", "/board.csv", "/board/commitments", "/board/commitments.csv"]
)
async def test_a_rep_gets_403_filtering_on_another_rep(
    board: Board, sign_in: SignIn, path: str
) -> None:
    client = await sign_in("王磊")
    response = await client.get(path, params={"rep": board.team.users["李娜"]})
    assert response.status == 403


async def test_a_rep_gets_403_filtering_on_another_team(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("王磊")
    south = await team_id(board, "华南一组")
    assert (await client.get("/board", params={"team": south})).status == 403


async def test_a_reps_board_counts_only_their_own_customers(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("王磊")
    page = await (await client.get("/board")).text()
    assert True  # names appear only in the lists; the figures say it:
    assert 'data-figure="stage_线索">1<' in page  # 启明 (线索); 瑞康 is 意向
    assert 'data-figure="stage_意向">1<' in page
    assert HONGDA not in page
    assert NANFANG not in page


async def test_a_manager_sees_the_teams_customers(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("陈静")
    for name in (QIMING, HONGDA):
        response = await client.get(f"/board/customers/{board.team.customers[name]}")
        assert response.status == 200, name
    assert (await client.get(f"/board/reps/{board.team.users['李娜']}")).status == 200


async def test_a_manager_reads_other_teams_too(board: Board, sign_in: SignIn) -> None:
    # The chat's READ rule (handlers/permissions.customers_where): managers read every team.
    client = await sign_in("陈静")
    assert (await client.get(f"/board/customers/{board.team.customers[NANFANG]}")).status == 200
    assert (await client.get(f"/board/reps/{board.team.users['张伟']}")).status == 200
    south = await team_id(board, "华南一组")
    assert (await client.get("/board", params={"team": south})).status == 200
    assert (await client.get("/board/commitments", params={"team": south})).status == 200


async def test_a_deactivated_manager_reads_nothing(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("陈静")
    async with board.team.sessions() as db, db.begin():
        (await db.get_one(User, board.team.users["陈静"])).active = False
    response = await client.get(
        f"/board/customers/{board.team.customers[QIMING]}", allow_redirects=False
    )
    assert response.status == 302


async def test_a_director_sees_everything(board: Board, sign_in: SignIn) -> None:
    client = await sign_in("赵强")
    for name in (QIMING, HONGDA, NANFANG):
        response = await client.get(f"/board/customers/{board.team.customers[name]}")
        assert response.status == 200, name
    for rep in ("王磊", "张伟"):
        assert (await client.get(f"/board/reps/{board.team.users[rep]}")).status == 200
    south = await team_id(board, "华南一组")
    assert (await client.get("/board", params={"team": south})).status == 200


async def test_an_unknown_customer_is_403_not_a_hint_that_it_exists(
    board: Board, sign_in: SignIn
) -> None:
    client = await sign_in("王磊")
    assert (await client.get("/board/customers/999999")).status == 403


async def test_a_bad_filter_value_is_a_400_that_says_what_was_expected(
    board: Board, sign_in: SignIn
) -> None:
    client = await sign_in("赵强")
    response = await client.get("/board", params={"team": "华东"})
    assert response.status == 400
    assert "正整数" in await response.text()
