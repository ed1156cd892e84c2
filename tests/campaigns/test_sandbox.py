"""The demo's sandbox gateways answer the real adapters like the real gateways, over real HTTP
on a free loopback port: accepted ids, a message id taken once, a repeated Idempotency-Key
answered with the first answer, credentials checked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from quanwang.campaigns.channels import OutboundMessage, SendError, SendStatus
from quanwang.campaigns.channels.app_push import AppPushAdapter, AppPushConfig
from quanwang.campaigns.channels.base import IDEMPOTENCY_HEADER, config_from_mapping
from quanwang.campaigns.channels.config import channels_config, configured_adapter
from quanwang.campaigns.channels.sms import SmsAdapter, SmsConfig
from quanwang.campaigns.channels.wechat import WechatAdapter, WechatConfig
from quanwang.campaigns.choices import Channel
from quanwang.campaigns.sandbox import mode
from quanwang.campaigns.sandbox.models import Direction, SandboxMessage, SandboxRequest
from tests.campaigns.sandboxing import served_sandbox, shared_db

__all__ = ["shared_db"]


@pytest.fixture
def demo(settings: Any, shared_db: None) -> Any:
    """Demo mode with no channel configured, and the sandbox serving."""
    settings.QUANWANG_DEMO = True
    settings.QUANWANG_CHANNELS = {}
    with served_sandbox(settings) as app:
        yield app


def _sms(step: str, *ids: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            campaign_step=step, subscriber_id=i, recipient=f"+86 139{n:08d}", text="续约有礼"
        )
        for n, i in enumerate(ids, start=1)
    ]


def test_demo_mode_points_every_missing_channel_at_the_sandbox(settings: Any) -> None:
    # Given demo mode, with only the WeChat channel configured for real
    settings.QUANWANG_DEMO = True
    settings.QUANWANG_SANDBOX_PORT = 8125
    real = {"app_id": "wx1", "app_secret": "s", "template_id": "T"}
    settings.QUANWANG_CHANNELS = {"wechat": real}

    # When the effective config is read
    config = channels_config()

    # Then the real section stays, the others point at the sandbox on loopback, with the
    # credentials generated into the var folder (0600)
    assert config["wechat"] == real
    assert config["sms"]["url"] == "http://127.0.0.1:8125/sms/send"
    assert config["app_push"]["url"] == "http://127.0.0.1:8125/push"
    assert config["sms"]["inbound_token"] == mode.credentials().inbound_token
    assert mode.credentials_path().stat().st_mode & 0o777 == 0o600
    # And with demo mode off nothing is added
    settings.QUANWANG_DEMO = False
    assert channels_config() == {"wechat": real}


def test_the_sms_sandbox_accepts_a_batch_once_and_answers_a_repeat_as_the_first_time(
    demo: Any,
) -> None:
    # Given the real SMS adapter, configured for the sandbox
    adapter = configured_adapter(Channel.SMS)
    assert isinstance(adapter, SmsAdapter)
    batch = [*_sms("c7-s1", "S1", "S2"), OutboundMessage(
        campaign_step="c7-s1", subscriber_id="S3", recipient="12345", text="t"
    )]  # fmt: skip

    # When it sends a batch, then the very same batch again (a retry)
    first = adapter.send(batch)
    again = adapter.send(batch)
    adapter.close()

    # Then both numbers were accepted with the sandbox's ids, the same both times, and the
    # messages are kept once, each ending with the opt-out instruction
    assert [r.status for r in first] == [
        SendStatus.ACCEPTED,
        SendStatus.ACCEPTED,
        SendStatus.FAILED,
    ]
    assert first[2].error == SendError.INVALID_RECIPIENT
    assert all(r.gateway_message_id.startswith("SMS") for r in first[:2])
    assert [r.gateway_message_id for r in again] == [r.gateway_message_id for r in first]
    kept = SandboxMessage.objects.filter(channel=Channel.SMS, direction=Direction.TO_CUSTOMER)
    assert sorted(kept.values_list("recipient", "subscriber_id")) == [
        ("13900000001", "S1"),
        ("13900000002", "S2"),
    ]
    assert all(text.endswith("回TD退订") for text in kept.values_list("text", flat=True))


def test_a_repeated_idempotency_key_gets_the_first_answer_even_with_another_body(
    demo: Any,
) -> None:
    # Given a first request under a key
    section = channels_config()["sms"]
    headers = {"Authorization": f"Bearer {section['token']}", IDEMPOTENCY_HEADER: "K1"}
    body = {"messages": [{"id": "c1-s1:A", "to": "13900000001", "text": "一"}]}
    with httpx.Client(trust_env=False) as client:
        first = client.post(section["url"], json=body, headers=headers)
        # When the same key comes again with other messages
        body["messages"][0]["id"] = "c1-s1:B"
        second = client.post(section["url"], json=body, headers=headers)

    # Then it is answered exactly as the first time, and nothing more is kept
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert SandboxMessage.objects.count() == 1
    assert SandboxRequest.objects.count() == 1


def test_the_sandbox_refuses_a_wrong_token_like_a_gateway(demo: Any) -> None:
    section = {**channels_config()["sms"], "token": "wrong"}
    adapter = SmsAdapter(config=config_from_mapping(SmsConfig, section, section="sms"))

    results = adapter.send(_sms("c1-s1", "S1"))
    adapter.close()

    assert results[0].error == SendError.AUTH
    assert SandboxMessage.objects.count() == 0


def test_wechat_template_messages_go_through_the_token_and_a_restart_of_the_sandbox(
    demo: Any,
) -> None:
    # Given the real WeChat adapter, configured for the sandbox
    adapter = configured_adapter(Channel.WECHAT)
    assert isinstance(adapter, WechatAdapter)

    def message(subscriber: str, template: str = mode.SANDBOX_TEMPLATE_ID) -> OutboundMessage:
        return OutboundMessage(
            campaign_step="c3-w1", subscriber_id=subscriber, recipient=f"oSbx-{subscriber}",
            template_id=template, template_data={"content": "流量翻倍"},
        )  # fmt: skip

    # When it sends, the sandbox forgets its tokens (a restart), and it sends again
    first = adapter.send([message("S1"), message("S2", template="OTHER")])
    demo.forget_tokens()
    second = adapter.send([message("S3")])
    adapter.close()

    # Then the template message was accepted with a numeric msgid, the unknown template was
    # refused as WeChat refuses it, and the stale token was replaced without a failure
    assert first[0].accepted
    assert first[0].gateway_message_id.isdigit()
    assert first[1].error == SendError.REFUSED
    assert first[1].detail.startswith("40037")
    assert second[0].accepted
    texts = dict(
        SandboxMessage.objects.filter(channel=Channel.WECHAT).values_list("recipient", "text")
    )
    assert texts == {"oSbx-S1": "流量翻倍", "oSbx-S3": "流量翻倍"}


def test_wechat_credentials_other_than_the_sandboxs_are_refused(demo: Any) -> None:
    section = {**channels_config()["wechat"], "app_secret": "wrong"}
    adapter = WechatAdapter(config=config_from_mapping(WechatConfig, section, section="wechat"))

    results = adapter.send(
        [OutboundMessage(campaign_step="c1-w1", subscriber_id="S1", recipient="o1",
                         template_id=mode.SANDBOX_TEMPLATE_ID)]
    )  # fmt: skip
    adapter.close()

    assert results[0].error == SendError.AUTH
    assert "40125" in results[0].detail


def test_app_push_checks_the_signature_and_takes_a_message_once(demo: Any) -> None:
    adapter = configured_adapter(Channel.APP_PUSH)
    assert isinstance(adapter, AppPushAdapter)
    pushed = [
        OutboundMessage(campaign_step="c2-p1", subscriber_id="S1", recipient="S1",
                        title="5G升档", text="本月升档送红包")
    ]  # fmt: skip

    first, again = adapter.send(pushed)[0], adapter.send(pushed)[0]
    adapter.close()
    forged = AppPushAdapter(
        config=config_from_mapping(
            AppPushConfig, {**channels_config()["app_push"], "secret": "x"}, section="app_push"
        )
    )
    refused = forged.send(pushed)[0]
    forged.close()

    assert first.accepted
    assert first.gateway_message_id.startswith("PUSH")
    assert again.gateway_message_id == first.gateway_message_id
    assert refused.error == SendError.AUTH
    kept = SandboxMessage.objects.get(channel=Channel.APP_PUSH)
    assert (kept.title, kept.text, kept.recipient) == ("5G升档", "本月升档送红包", "S1")


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=6),
        min_size=1,
        max_size=4,
    ),
)
def test_every_message_id_is_kept_once_and_always_answered_with_the_same_id(
    demo: Any, batches: list[list[str]]
) -> None:
    # Given an empty sandbox, and batches of messages whose ids repeat within and across
    # batches
    SandboxMessage.objects.all().delete()
    SandboxRequest.objects.all().delete()
    section = channels_config()["sms"]
    seen: dict[str, str] = {}
    with httpx.Client(trust_env=False) as client:
        for n, batch in enumerate(batches):
            messages = [{"id": f"c9-s1:{i}", "to": "13900000009", "text": "t"} for i in batch]
            # When each is posted under a key of its own
            answer = client.post(
                section["url"],
                content=json.dumps({"messages": messages}),
                headers={"Authorization": f"Bearer {section['token']}",
                         IDEMPOTENCY_HEADER: f"batch-{n}"},
            )  # fmt: skip
            # Then every id is accepted, with the id it got the first time
            for result in answer.json()["results"]:
                assert result["status"] == "accepted"
                assert seen.setdefault(result["id"], result["message_id"]) == result["message_id"]
    # And each distinct id is kept once
    kept = SandboxMessage.objects.values_list("client_id", flat=True)
    assert sorted(kept) == sorted({f"c9-s1:{i}" for batch in batches for i in batch})


def test_the_sandbox_answers_its_health_check(demo: Any) -> None:
    with httpx.Client(trust_env=False) as client:
        answer = client.get(f"{mode.sandbox_url()}/health")
    assert answer.json() == {"status": "ok"}
