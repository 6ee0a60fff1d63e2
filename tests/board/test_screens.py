"""大屏: a director's long-lived, read-only, revocable token for the meeting-room screen."""

from __future__ import annotations

import re

from tests.board.conftest import Board

SCREEN = re.compile(r"(/board/screen\?s=[\w-]+)")


async def new_screen(board: Board, user: str = "赵强") -> str:
    answer = await board.team.talk(user, "大屏 新建 会议室A")
    found = SCREEN.search(answer)
    assert found, answer
    return found.group(1)


async def test_a_director_makes_a_screen_that_shows_the_board_in_tv_mode(board: Board) -> None:
    client = await board.client()
    response = await client.get(await new_screen(board), allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/board?tv=1"
    page = await client.get("/board?tv=1")
    assert page.status == 200
    text = await page.text()
    assert 'class="tv"' in text
    assert "data-refresh" in text
    fragment = await client.get("/board?tv=1&fragment=1")
    assert fragment.status == 200
    assert "<html" not in await fragment.text()


async def test_a_screen_outlives_a_session(board: Board) -> None:
    client = await board.client()
    await client.get(await new_screen(board), allow_redirects=False)
    board.team.clock.advance(days=30)
    assert (await client.get("/board?tv=1&fragment=1")).status == 200


async def test_a_manager_may_not_make_a_screen(board: Board) -> None:
    answer = await board.team.talk("陈静", "大屏 新建 会议室A")
    assert "只有总监可以使用" in answer
    assert SCREEN.search(answer) is None


async def test_a_screen_is_read_only_and_shows_no_customer_or_export(board: Board) -> None:
    client = await board.client()
    await client.get(await new_screen(board), allow_redirects=False)
    customer = board.team.customers["杭州启明科技有限公司"]
    for path in (
        f"/board/customers/{customer}",
        "/board/commitments",
        "/board.csv",
        f"/board/reps/{board.team.users['王磊']}",
    ):
        assert (await client.get(path)).status == 403, path
    assert (await client.post("/board/logout", data={"csrf": "x"})).status == 403


async def test_a_revoked_screen_opens_nothing(board: Board) -> None:
    client = await board.client()
    await client.get(await new_screen(board), allow_redirects=False)
    answer = await board.team.talk("赵强", "大屏 列表")
    screen_id = re.search(r"^(\d+)　会议室A", answer, re.M)
    assert screen_id, answer
    assert "已撤销" in await board.team.talk("赵强", f"大屏 撤销 {screen_id.group(1)}")
    response = await client.get("/board?tv=1&fragment=1", allow_redirects=False)
    assert response.status == 401
