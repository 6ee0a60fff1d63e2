"""deliver() to a member: text, markdown, cards, card updates, images, limits, tokens, errcodes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapter import AdapterDeps, Dead, RetryAt, Sent
from bot.wecom import WeComAdapter
from handlers.chat import CardUpdate, Event, Image, Platform, Reply
from handlers.clock import FrozenClock
from tests.fakes.wecom import FakeWeCom
from tests.wecom.support import PNG, SOP_CARD, fill_window, member, queued, wecom_settings


async def test_a_reply_goes_to_message_send_as_text_with_duplicate_check(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    event = Event(Platform.WECOM, "m|1000002|wanglei|1", "wanglei", clock.now(), text="跟进")
    address = adapter.reply_address(event)
    item = await queued(
        sessions, address, Reply("已记录跟进：杭州启明科技有限公司"), now=clock.now()
    )
    delivery = await adapter.deliver(item)
    assert isinstance(delivery, Sent)
    (sent,) = fake_wecom.delivered
    assert sent == {
        "touser": "wanglei",
        "agentid": 1000002,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 300,
        "msgtype": "text",
        "text": {"content": "已记录跟进：杭州启明科技有限公司"},
    }


async def test_a_retried_reply_is_not_shown_twice_but_a_later_repeat_is(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    item = await queued(
        sessions, member(adapter, "wanglei"), Reply("你当前没有待办任务卡。"), now=clock.now()
    )
    await adapter.deliver(item)
    await adapter.deliver(item)  # our answer was lost: the same row is sent again
    clock.advance(minutes=6)  # the rep asks 「任务」 again later and gets the same answer
    again = await queued(
        sessions, member(adapter, "wanglei"), Reply("你当前没有待办任务卡。"), now=clock.now()
    )
    await adapter.deliver(again)
    assert fake_wecom.sent_texts() == ["你当前没有待办任务卡。"] * 2


async def test_a_markdown_reply_is_sent_as_markdown(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    address = member(adapter, "lina")
    item = await queued(
        sessions, address, Reply("**今日待办** 3 项", markdown=True), now=clock.now()
    )
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.delivered[0]["markdown"] == {"content": "**今日待办** 3 项"}


async def test_a_card_is_a_button_interaction_card_whose_buttons_carry_the_commands(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    item = await queued(sessions, member(adapter, "wanglei"), SOP_CARD, now=clock.now())
    delivery = await adapter.deliver(item)
    (card,) = fake_wecom.sent_cards()
    assert card == {
        "card_type": "button_interaction",
        "source": {"desc": "salesbot"},
        "main_title": {"title": "SOP：满意度回访"},
        "task_id": f"task-12@{item.id}",
        "button_list": [
            {"text": "接受", "style": 1, "key": "接受 12"},
            {"text": "稍后提醒", "style": 2, "key": "稍后提醒 12"},
        ],
        "sub_title_text": "客户：杭州启明科技有限公司\n截止：3月12日",
    }
    assert isinstance(delivery, Sent)
    assert delivery.result is not None
    assert str(delivery.result["response_code"]).startswith("rc-send-")


async def test_the_same_card_sent_twice_gets_two_task_ids(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    for _ in range(2):
        item = await queued(sessions, member(adapter, "wanglei"), SOP_CARD, now=clock.now())
        assert isinstance(await adapter.deliver(item), Sent)
    task_ids = [card["task_id"] for card in fake_wecom.sent_cards()]
    assert len(set(task_ids)) == 2


async def test_a_retried_card_that_already_went_out_is_not_sent_twice(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    item = await queued(sessions, member(adapter, "wanglei"), SOP_CARD, now=clock.now())
    await adapter.deliver(item)  # WeCom got it, but say our answer was lost: the row is retried
    item.attempts += 1
    assert isinstance(await adapter.deliver(item), Sent)
    assert len(fake_wecom.sent_cards()) == 1


async def test_a_card_update_replaces_the_buttons_with_the_done_label(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    code = fake_wecom.click_response_code()
    update = CardUpdate(card_id="task-12@1", label="已接受 ✓", response_code=code)
    item = await queued(sessions, member(adapter, "wanglei"), update, now=clock.now())
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.card_updates == [
        {
            "userids": ["wanglei"],
            "agentid": 1000002,
            "response_code": code,
            "button": {"replace_name": "已接受 ✓"},
        }
    ]


async def test_a_used_response_code_is_dead_at_once(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    update = CardUpdate(card_id="task-12@1", label="已接受 ✓", response_code="rc-used")
    item = await queued(sessions, member(adapter, "wanglei"), update, now=clock.now())
    assert isinstance(await adapter.deliver(item), Dead)


async def test_an_image_to_a_member_is_uploaded_then_sent_by_media_id(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    item = await queued(sessions, member(adapter, "chenjing"), Image(PNG), now=clock.now())
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.uploads == [("image", PNG)]
    assert fake_wecom.delivered[0]["image"]["media_id"].startswith("media-")


async def test_a_member_who_got_30_messages_this_minute_waits_for_the_window(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    await fill_window(sessions, "wecom:user:wanglei", 30, clock)
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    delivery = await adapter.deliver(item)
    # The oldest of the 30 was sent 30 s ago: a slot frees 30 s from now.
    assert delivery == RetryAt(
        clock.now() + timedelta(seconds=30), "rate limit", count_attempt=False
    )
    assert fake_wecom.requests == []


async def test_a_member_with_29_messages_this_minute_still_gets_one(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    await fill_window(sessions, "wecom:user:wanglei", 29, clock)
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    assert isinstance(await adapter.deliver(item), Sent)


async def test_an_expired_token_is_refreshed_once_and_the_message_delivered_once(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    first = await queued(sessions, member(adapter, "wanglei"), Reply("早上好"), now=clock.now())
    await adapter.deliver(first)
    fake_wecom.expire_tokens()  # WeCom dropped the token early; our cached copy still looks fresh
    item = await queued(
        sessions, member(adapter, "wanglei"), Reply("【承诺到期】发正式报价"), now=clock.now()
    )
    assert isinstance(await adapter.deliver(item), Sent)
    assert fake_wecom.sent_texts() == ["早上好", "【承诺到期】发正式报价"]
    assert fake_wecom.token_fetches == 2
    sends = fake_wecom.calls("message/send")
    assert [r.query["access_token"] for r in sends] == ["tok-1", "tok-1", "tok-2"]


async def test_a_token_rejected_twice_is_retried_later_not_in_a_loop(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.fail_next("message/send", 40014, times=2)
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    assert isinstance(await adapter.deliver(item), RetryAt)
    assert len(fake_wecom.calls("message/send")) == 2


async def test_the_token_is_shared_by_instances_through_the_database(
    deps: AdapterDeps, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    for _ in range(2):  # two instances (or a restart) on the same database
        other = WeComAdapter(deps)
        item = await queued(sessions, member(other, "lina"), Reply("x"), now=clock.now())
        assert isinstance(await other.deliver(item), Sent)
    assert fake_wecom.token_fetches == 1


async def test_the_token_is_refreshed_five_minutes_before_it_expires(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    for _ in range(2):
        item = await queued(sessions, member(adapter, "lina"), Reply("x"), now=clock.now())
        await adapter.deliver(item)
        clock.advance(seconds=7200 - 299)
    assert fake_wecom.token_fetches == 2


@pytest.mark.parametrize(
    ("errcode", "expected"),
    [
        (45009, RetryAt),  # frequency limit
        (-1, RetryAt),  # system busy
        (60020, RetryAt),  # trusted IP missing: the admin can fix it
        (81013, Dead),  # recipient invalid
        (44004, Dead),  # empty content
    ],
)
async def test_errcodes_map_to_retry_or_dead(
    adapter: WeComAdapter,
    fake_wecom: FakeWeCom,
    sessions,
    clock: FrozenClock,
    errcode: int,
    expected: type,
) -> None:
    fake_wecom.fail_next("message/send", errcode)
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    delivery = await adapter.deliver(item)
    assert isinstance(delivery, expected)
    assert str(errcode) in delivery.error


async def test_a_frequency_limit_waits_a_minute_without_counting_an_attempt(
    adapter: WeComAdapter, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    fake_wecom.fail_next("message/send", 45009, "api freq out of limit")
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    delivery = await adapter.deliver(item)
    assert delivery == RetryAt(
        clock.now() + timedelta(seconds=60),
        "wecom 45009: api freq out of limit",
        count_attempt=False,
    )


async def test_wecom_out_of_reach_is_retried_with_backoff(
    deps: AdapterDeps, fake_wecom: FakeWeCom, sessions, clock: FrozenClock
) -> None:
    base = fake_wecom.base_url
    await fake_wecom.close()
    deps.settings = wecom_settings(base)
    adapter = WeComAdapter(deps)
    item = await queued(sessions, member(adapter, "wanglei"), Reply("x"), now=clock.now())
    delivery = await adapter.deliver(item)
    assert isinstance(delivery, RetryAt)
    assert (delivery.at, delivery.count_attempt) == (clock.now() + timedelta(seconds=10), True)
