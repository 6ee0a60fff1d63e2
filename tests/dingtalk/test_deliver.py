"""deliver() through the robot API and session webhooks, against the fake DingTalk API."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.adapter import AdapterDeps, Dead, RetryAt, Sent
from bot.dingtalk.adapter import DingTalkAdapter
from handlers.chat import Button, Card, CardUpdate, Image, Reply
from handlers.clock import FrozenClock
from storage.models import User
from storage.outbox import Address
from tests.dingtalk.conftest import ROBOT_CODE, now_ms
from tests.dingtalk.helpers import outbox_item
from tests.fakes.dingtalk import FakeDingTalk, robot_message

WANGLEI = Address("dingtalk", "robot_user", "wanglei", "dingtalk:user:wanglei")
SALES_GROUP = Address(
    "dingtalk", "robot_group", "cidSalesTeam9ok==", "dingtalk:group:cidSalesTeam9ok=="
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def private_text(
    fake: FakeDingTalk, *, msg_id: str = "msgA", lifetime_ms: int | None = None
) -> str:
    hook = (
        fake.new_session_webhook()
        if lifetime_ms is None
        else fake.new_session_webhook(lifetime_ms=lifetime_ms)
    )
    return json.dumps(
        robot_message(text="我的", msg_id=msg_id, session_webhook=hook), ensure_ascii=False
    )


async def test_a_text_to_a_user_goes_out_as_sample_text_through_batch_send(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    result = await adapter.deliver(
        outbox_item(WANGLEI, Reply("【承诺到期】启明科技：发正式报价，明天17:00截止"))
    )

    assert isinstance(result, Sent)
    [sent] = fake_dingtalk.one_to_one
    assert sent == {
        "robotCode": ROBOT_CODE,
        "userIds": ["wanglei"],
        "msgKey": "sampleText",
        "msgParam": {"content": "【承诺到期】启明科技：发正式报价，明天17:00截止"},
    }
    [call] = fake_dingtalk.calls("/v1.0/robot/oToMessages/batchSend")
    assert call.token is not None
    assert call.token.startswith("tok-")


async def test_a_markdown_reply_goes_out_as_sample_markdown_with_its_first_line_as_title(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    await adapter.deliver(
        outbox_item(WANGLEI, Reply("### 我的客户\n\n- 启明科技 🟢", markdown=True))
    )

    [sent] = fake_dingtalk.one_to_one
    assert sent["msgKey"] == "sampleMarkdown"
    assert sent["msgParam"] == {"title": "我的客户", "text": "### 我的客户\n\n- 启明科技 🟢"}


async def test_a_task_card_goes_out_as_markdown_whose_buttons_send_their_commands_back(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    card = Card(
        "task-12-1",
        "SOP 任务：满意度回访",
        ("客户：启明科技", "期限：3月12日"),
        (Button("接受 12", "接受"),),
    )

    await adapter.deliver(outbox_item(WANGLEI, card))

    [sent] = fake_dingtalk.one_to_one
    assert sent["msgKey"] == "sampleMarkdown"
    assert sent["msgParam"]["title"] == "SOP 任务：满意度回访"
    assert "客户：启明科技" in sent["msgParam"]["text"]
    assert (
        "(dtmd://dingtalkclient/sendMessage?content=%E6%8E%A5%E5%8F%97%2012)"
        in sent["msgParam"]["text"]
    )


async def test_a_card_update_is_confirmed_with_a_short_text(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    await adapter.deliver(outbox_item(WANGLEI, CardUpdate("task-12-1", "已接受 ✓")))

    [sent] = fake_dingtalk.one_to_one
    assert (sent["msgKey"], sent["msgParam"]) == ("sampleText", {"content": "已接受 ✓"})


async def test_an_image_is_uploaded_and_sent_as_sample_image_msg(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    await adapter.deliver(outbox_item(SALES_GROUP, Image(PNG, caption="日报")))

    assert fake_dingtalk.uploads == [PNG]
    [sent] = fake_dingtalk.group_messages
    assert sent["msgKey"] == "sampleImageMsg"
    assert sent["msgParam"]["photoURL"].startswith("@lADPfake")
    assert fake_dingtalk.legacy_token_fetches == 1


async def test_a_group_push_goes_to_group_messages_send_with_the_conversation_id(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    result = await adapter.deliver(
        outbox_item(SALES_GROUP, Reply("【停滞预警】启明科技 在「方案」阶段已 9 天"))
    )

    assert isinstance(result, Sent)
    [sent] = fake_dingtalk.group_messages
    assert sent["openConversationId"] == "cidSalesTeam9ok=="
    assert sent["msgParam"] == {"content": "【停滞预警】启明科技 在「方案」阶段已 9 天"}


async def test_a_reply_goes_through_the_session_webhook_while_it_is_valid(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    event = adapter.to_event(private_text(fake_dingtalk), received_at=clock.now())
    address = adapter.reply_address(event)
    assert address.channel == "session_webhook"

    result = await adapter.deliver(outbox_item(address, Reply("已记录跟进")))

    assert result == Sent({"via": "session_webhook"})
    [(_, body)] = fake_dingtalk.session_messages
    assert body == {"msgtype": "text", "text": {"content": "已记录跟进"}}
    assert fake_dingtalk.token_fetches == 0  # no API call, no quota spent


async def test_a_reply_sent_after_the_session_webhook_expired_goes_through_the_api(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    event = adapter.to_event(private_text(fake_dingtalk), received_at=clock.now())
    address = adapter.reply_address(event)
    clock.advance(minutes=91)

    result = await adapter.deliver(outbox_item(address, Reply("已记录跟进")))

    assert isinstance(result, Sent)
    assert fake_dingtalk.session_messages == []
    assert fake_dingtalk.calls("/robot/sendBySession") == []
    assert [m["userIds"] for m in fake_dingtalk.one_to_one] == [["wanglei"]]


async def test_a_session_dingtalk_already_ended_falls_back_to_the_api(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    payload = json.loads(private_text(fake_dingtalk, lifetime_ms=60_000))
    payload["sessionWebhookExpiredTime"] = now_ms(clock) + 90 * 60_000  # we believe 90 min
    event = adapter.to_event(json.dumps(payload), received_at=clock.now())
    address = adapter.reply_address(event)
    clock.advance(minutes=2)

    result = await adapter.deliver(outbox_item(address, Reply("已记录跟进")))

    assert isinstance(result, Sent)
    assert len(fake_dingtalk.calls("/robot/sendBySession")) == 1  # answered 300001
    assert [m["msgParam"] for m in fake_dingtalk.one_to_one] == [{"content": "已记录跟进"}]


async def test_a_group_reply_through_the_session_webhook_mentions_the_sender(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    message = robot_message(
        text=" 我的", group=True, session_webhook=fake_dingtalk.new_session_webhook()
    )
    address = adapter.reply_address(adapter.to_event(json.dumps(message), received_at=clock.now()))

    await adapter.deliver(outbox_item(address, Reply("你名下有 3 个客户")))

    [(_, body)] = fake_dingtalk.session_messages
    assert body["text"] == {"content": "你名下有 3 个客户 @wanglei"}
    assert body["at"] == {"atUserIds": ["wanglei"], "isAtAll": False}


async def test_a_message_whose_webhook_is_close_to_expiry_is_answered_through_the_api(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    event = adapter.to_event(
        private_text(fake_dingtalk, lifetime_ms=60_000), received_at=clock.now()
    )
    assert adapter.reply_address(event) == WANGLEI
    message = robot_message(text=" 我的", group=True, msg_id="msgG")
    group_event = adapter.to_event(json.dumps(message), received_at=clock.now())
    assert adapter.reply_address(group_event) == SALES_GROUP


async def test_a_session_webhook_on_a_foreign_host_is_never_used(
    adapter: DingTalkAdapter, clock: FrozenClock
) -> None:
    # The callback sign does not cover the body: a replayed request could carry any URL.
    expires_ms = now_ms(clock) + 90 * 60_000
    message = robot_message(
        text="我的", session_webhook=("https://evil.example/collect", expires_ms)
    )
    event = adapter.to_event(json.dumps(message), received_at=clock.now())
    assert adapter.reply_address(event) == WANGLEI


async def test_an_expired_token_is_refreshed_once_and_the_message_still_goes_out(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    await adapter.deliver(outbox_item(WANGLEI, Reply("第一条")))
    fake_dingtalk.expire_tokens()

    result = await adapter.deliver(outbox_item(WANGLEI, Reply("第二条")))

    assert isinstance(result, Sent)
    assert fake_dingtalk.token_fetches == 2
    assert [m["msgParam"]["content"] for m in fake_dingtalk.one_to_one] == ["第一条", "第二条"]
    assert len(fake_dingtalk.calls("/v1.0/robot/oToMessages/batchSend")) == 3  # one refused


async def test_a_token_refused_even_after_refresh_is_retried_later_not_in_a_loop(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    refused = {"code": "InvalidAuthentication", "message": "不合法的access_token"}
    fake_dingtalk.fail_next("/v1.0/robot/oToMessages/batchSend", 401, refused, times=5)

    result = await adapter.deliver(outbox_item(WANGLEI, Reply("你好")))

    assert isinstance(result, RetryAt)
    assert result.count_attempt
    assert result.at > clock.now()
    assert len(fake_dingtalk.calls("/v1.0/robot/oToMessages/batchSend")) == 2
    assert fake_dingtalk.token_fetches == 2


async def test_the_token_is_shared_through_the_database_by_every_instance(
    adapter: DingTalkAdapter, deps: AdapterDeps, fake_dingtalk: FakeDingTalk
) -> None:
    other_instance = DingTalkAdapter(deps)

    await adapter.deliver(outbox_item(WANGLEI, Reply("一")))
    await other_instance.deliver(outbox_item(WANGLEI, Reply("二")))

    assert fake_dingtalk.token_fetches == 1


async def test_a_flow_controlled_recipient_waits_without_spending_an_attempt(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    fake_dingtalk.flow_controlled.add("wanglei")

    result = await adapter.deliver(outbox_item(WANGLEI, Reply("你好")))

    assert result == RetryAt(clock.now() + timedelta(minutes=1), "flow controlled", False)


async def test_the_qps_limit_waits_briefly_without_spending_an_attempt(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    limited = {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "限流"}
    fake_dingtalk.fail_next("/v1.0/robot/oToMessages/batchSend", 403, limited)

    result = await adapter.deliver(outbox_item(WANGLEI, Reply("你好")))

    assert isinstance(result, RetryAt)
    assert (result.at, result.count_attempt) == (clock.now() + timedelta(seconds=2), False)


async def test_a_server_error_is_retried_with_backoff_that_grows_with_attempts(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk, clock: FrozenClock
) -> None:
    fake_dingtalk.fail_next("/v1.0/robot/groupMessages/send", 502, {"code": "BadGateway"}, times=2)

    first = await adapter.deliver(outbox_item(SALES_GROUP, Reply("x"), attempts=1))
    third = await adapter.deliver(outbox_item(SALES_GROUP, Reply("x"), attempts=3))

    assert isinstance(first, RetryAt)
    assert isinstance(third, RetryAt)
    assert first.at - clock.now() == timedelta(seconds=30)
    assert third.at - clock.now() == timedelta(seconds=120)


async def test_a_request_dingtalk_calls_invalid_is_dead(
    adapter: DingTalkAdapter, fake_dingtalk: FakeDingTalk
) -> None:
    bad = {"code": "invalidParameter.robotCode.auth", "message": "robotCode 无权限"}
    fake_dingtalk.fail_next("/v1.0/robot/groupMessages/send", 400, bad)

    result = await adapter.deliver(outbox_item(SALES_GROUP, Reply("x")))

    assert isinstance(result, Dead)
    assert "invalidParameter.robotCode.auth" in result.error


async def test_a_user_is_addressed_by_dingtalk_userid_and_only_if_they_have_one(
    adapter: DingTalkAdapter, clock: FrozenClock
) -> None:
    wanglei = User(name="王磊", role="rep", dingtalk_userid="wanglei", created_at=clock.now())
    lina = User(name="李娜", role="rep", created_at=clock.now())
    assert adapter.user_address(wanglei) == WANGLEI
    assert adapter.user_address(lina) is None
    assert adapter.user_platform_id(wanglei) == "wanglei"
