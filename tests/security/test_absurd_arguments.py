"""Every chat command with absurd arguments answers in words: no crash, no half-written rows."""

from __future__ import annotations

import pytest

from handlers.router import ROUTES
from tests.core.conftest import SeededTeam

ABSURD = (
    "99999999999",
    "-1",
    "0",
    "²",
    "１２",
    "٣",
    "A99999999999",
    "#99999999999999999999999",
    "C-99999999-99999999999",
    "\u0000",
    "启明\u0000科技 电话\u0000",
    "99999999999天",
    "1e308小时",
    "'; DROP TABLE users; --",
    "😀" * 50,
    "启明 " + "长" * 1900,
)


@pytest.mark.parametrize("word", sorted(ROUTES))
async def test_every_command_answers_absurd_arguments_in_words(team: SeededTeam, word: str) -> None:
    for user in ("王磊", "陈静"):
        for argument in ABSURD:
            answer = await team.talk(user, f"{word} {argument}")
            assert answer.strip(), (word, argument)
            assert "Traceback" not in answer
