"""The demo works out of the box: in demo mode a campaign step goes through the real adapters to
the sandbox gateways, lands in the sandbox inbox, and a simulated reply comes back through the
real inbound webhook; the call list downloads as XLSX; the dispatch overview counts it all; a
channel that cannot send is refused in one line before any job; `serve` starts the sandbox."""

from __future__ import annotations

import dataclasses
import functools
import io
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from quanwang.campaigns.channels.base import ConfigProblem
from quanwang.campaigns.channels.config import ChannelState, not_configured_message
from quanwang.campaigns.choices import Channel, ExclusionRule
from quanwang.campaigns.dispatch import DispatchError, opt_outs_file, send_step
from quanwang.campaigns.models import Campaign, DispatchStep
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.promotion import channel_statuses, daily_dispatch
from quanwang.campaigns.responses import InboundOutcome
from quanwang.campaigns.sandbox.models import Direction, SandboxMessage
from quanwang.campaigns.services import start_dispatch
from quanwang.core.choices import AuditAction, JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.core.management.commands.serve import children
from quanwang.core.models import AuditRecord, Job
from tests import factories
from tests.campaigns.conftest import TEN_AM, offer
from tests.campaigns.dispatching import LocalLedger, issued_campaign
from tests.campaigns.sandboxing import (
    demo_customers,
    english_words,
    fate,
    number,
    served_console,
    served_sandbox,
    shared_db,
)
from tests.processes import shared_env

__all__ = ["shared_db"]
COUNT = 40
CHANNELS = ("sms", "outbound_call", "wechat", "app_push")


@pytest.fixture
def city(shared_db: None, tmp_path: Path) -> tuple[Any, Campaign]:
    """A city marketer and their issued campaign over COUNT customers."""
    tree = factories.Tree()
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    frozen = demo_customers(tmp_path, COUNT, grid=tree.grid_a.code)
    campaign = issued_campaign(frozen=frozen, org_unit=tree.city_a, channels=CHANNELS)
    campaign.offers.add(offer(tree))
    return marketer, campaign


@pytest.fixture
def demo(settings: Any, city: tuple[Any, Campaign]) -> Any:
    """Demo mode, no channel configured, the sandbox serving."""
    settings.QUANWANG_DEMO = True
    settings.QUANWANG_CHANNELS = {}
    with served_sandbox(settings) as app:
        yield app


def _dispatch(actor: Any, campaign: Campaign, *, step: str, channel: Channel) -> dict[str, Any]:
    job = start_dispatch(
        actor=actor, campaign=campaign, step=step, channel=channel, text="续约送话费",
        send_at=TEN_AM, background=False,
    )  # fmt: skip
    execute_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return dict(job.result or {})


def _sent() -> set[str]:
    return {f"D{i:03d}" for i in range(COUNT) if fate(i) == "sent"}


def test_a_demo_sms_step_goes_through_the_real_adapter_into_the_inbox(
    demo: Any, city: tuple[Any, Campaign], client: Client
) -> None:
    # Given demo mode and no channel configured
    marketer, campaign = city

    # When the marketer dispatches an SMS step
    result = _dispatch(marketer, campaign, step="s1", channel=Channel.SMS)

    # Then everyone the policy allows was accepted by the sandbox, and is in its inbox
    assert result["sent"] == len(_sent())
    kept = SandboxMessage.objects.filter(channel=Channel.SMS, direction=Direction.TO_CUSTOMER)
    assert set(kept.values_list("subscriber_id", flat=True)) == _sent()
    assert set(kept.values_list("campaign", flat=True)) == {campaign.pk}
    assert all(text == "续约送话费，回TD退订" for text in kept.values_list("text", flat=True))
    # And the inbox page shows the customers by masked number, never in full
    client.force_login(marketer)
    page = client.get(reverse("campaigns:sandbox-inbox"), {"number": "0001"}).content.decode()
    assert "139****0001" in page
    assert number(1) not in page
    assert "续约送话费，回TD退订" in page


def test_simulated_replies_go_through_the_webhook_td_opts_out_and_y_accepts(
    demo: Any, city: tuple[Any, Campaign], client: Client, settings: Any
) -> None:
    # Given an SMS step in the sandbox's inbox, and the console answering on loopback
    marketer, campaign = city
    _dispatch(marketer, campaign, step="s1", channel=Channel.SMS)
    client.force_login(marketer)
    to_one, to_two = (
        SandboxMessage.objects.get(recipient=number(i), direction=Direction.TO_CUSTOMER)
        for i in (1, 2)
    )
    with served_console() as console:
        demo.console_url = console

        # When customer 1 replies TD and customer 2 replies Y, from the inbox page
        for message, reply in ((to_one, "TD"), (to_two, "Y")):
            answer = client.post(
                reverse("campaigns:sandbox-reply"),
                {"message": message.pk, "quick": reply, "back": "channel=sms"},
            )
            assert answer.status_code == 302

    # Then the sandbox posted both to the webhook, whose answers are kept with the replies
    replies = dict(
        SandboxMessage.objects.filter(direction=Direction.FROM_CUSTOMER).values_list(
            "text", "outcome"
        )
    )
    assert replies == {"TD": InboundOutcome.OPTED_OUT, "Y": InboundOutcome.ACCEPTED}
    # And the real code recorded the opt-out: customer 1 is held back from the next step
    opted = duckdb.sql(f"SELECT subscriber_id, channel FROM '{opt_outs_file()}'").fetchall()
    assert opted == [("D001", "sms")]
    _dispatch(marketer, campaign, step="s2", channel=Channel.SMS)
    second = DispatchStep.objects.get(campaign=campaign, step="s2")
    assert second.excluded[ExclusionRule.OPTED_OUT] == 1
    assert not SandboxMessage.objects.filter(client_id=f"c{campaign.pk}-s2:D001").exists()


def test_a_channel_without_settings_is_refused_in_one_chinese_line_before_any_job(
    shared_db: None, city: tuple[Any, Campaign], client: Client, settings: Any
) -> None:
    # Given no demo mode and no SMS section in QUANWANG_CHANNELS
    settings.QUANWANG_DEMO = False
    settings.QUANWANG_CHANNELS = {}
    marketer, campaign = city
    client.force_login(marketer)

    # When the marketer clicks dispatch on SMS (the console speaks Chinese)
    answer = client.post(
        reverse("campaigns:dispatch", args=[campaign.pk]),
        {"step": "s1", "channel": "sms", "text": "续约送话费"},
    )

    # Then one Chinese line says the channel is not set up; no job, no setting, no trace
    page = answer.content.decode()
    with translation.override("zh-hans"):
        expected = not_configured_message(Channel.SMS, ConfigProblem.NO_SECTION)
    assert english_words(f"<main>{expected}</main>") == [], "not translated"
    assert expected in page
    for leak in (
        "Traceback",
        "QUANWANG_CHANNELS",
        "ImproperlyConfigured",
        ".py",
        str(settings.VAR_DIR),
    ):
        assert leak not in page
    assert not Job.objects.exists()


def test_a_job_whose_channel_lost_its_settings_fails_with_the_same_plain_line(
    shared_db: None, city: tuple[Any, Campaign], settings: Any
) -> None:
    # Given a step whose channel has no settings by the time its job runs
    settings.QUANWANG_DEMO = False
    settings.QUANWANG_CHANNELS = {"wechat": {"app_id": "wx1", "app_secret": "s"}}
    _marketer, campaign = city

    # When it is sent, then it stops before sending, in words without setting names
    with pytest.raises(DispatchError) as refused:
        send_step(
            campaign_id=campaign.pk, frozen=Path(campaign.audience_path), step="w1",
            channel=Channel.WECHAT, text="t", send_at=TEN_AM, policy=ContactPolicy(),
            ledger=LocalLedger(),
        )  # fmt: skip
    assert str(refused.value) == not_configured_message(Channel.WECHAT, ConfigProblem.NO_TEMPLATE)
    assert "QUANWANG_CHANNELS" not in str(refused.value)


def test_the_call_list_downloads_as_xlsx_masked_or_in_full_with_an_audit(
    demo: Any, city: tuple[Any, Campaign], client: Client
) -> None:
    # Given an outbound call step dispatched in demo mode
    marketer, campaign = city
    result = _dispatch(marketer, campaign, step="o1", channel=Channel.OUTBOUND_CALL)
    called = {f"D{i:03d}" for i in range(COUNT) if fate(i) != "control_group"}
    assert result["sent"] == len(called)
    url = reverse("campaigns:call-list", args=[campaign.pk, "o1"])

    # When the marketer (who may not see full numbers) and the province admin download it
    client.force_login(marketer)
    masked = client.get(url)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=campaign.org_unit.parent)
    client.force_login(admin)
    full = client.get(url)

    # Then both are the call centre's workbook, with everyone the list took; numbers masked
    # for the marketer, in full for the admin, whose download is audited
    for answer in (masked, full):
        assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = {
        name: list(load_workbook(io.BytesIO(a.content))["外呼名单"].iter_rows(values_only=True))
        for name, a in (("masked", masked), ("full", full))
    }
    assert rows["full"][0] == ("用户编号", "手机号码", "客户姓名", "外呼话术", "推荐产品")
    assert {r[0] for r in rows["full"][1:]} == called
    assert ("D001", number(1), "李1", "续约送话费", "续约送30元话费") in rows["full"]
    assert ("D001", "139****0001", "李*", "续约送话费", "续约送30元话费") in rows["masked"]
    assert AuditRecord.objects.filter(actor=admin, action=AuditAction.EXPORT_PII).count() == 1
    assert not AuditRecord.objects.filter(actor=marketer).exists()


def test_the_dispatch_overview_counts_per_channel_and_day_and_shows_the_channels(
    demo: Any, city: tuple[Any, Campaign]
) -> None:
    # Given an SMS step and a call list step in demo mode
    marketer, campaign = city
    _dispatch(marketer, campaign, step="s1", channel=Channel.SMS)
    _dispatch(marketer, campaign, step="o1", channel=Channel.OUTBOUND_CALL)

    # When the overview is read
    rows = {r.channel: r for r in daily_dispatch(user=marketer)}
    statuses = {s.channel: s.state for s in channel_statuses()}

    # Then each channel has today's counts, held back by rule, and every channel is served
    # by the sandbox
    sms = rows[Channel.SMS]
    assert (sms.sent, sms.delivered, sms.failed, sms.unknown) == (len(_sent()), len(_sent()), 0, 0)
    assert dict(sms.held_back) == {"control_group": 4, "no_consent": 8}
    assert rows[Channel.OUTBOUND_CALL].sent == COUNT - 4
    assert set(statuses.values()) == {ChannelState.SANDBOX}
    # And someone who sees no campaign sees none of it
    other = factories.user(role=Role.CITY_MARKETER, at=factories.org_unit(code="ZZ"))
    assert daily_dispatch(user=other) == []


def test_the_sandbox_pages_speak_chinese_and_fit_only_demo_mode(
    demo: Any, city: tuple[Any, Campaign], client: Client, settings: Any
) -> None:
    # Given an SMS step in demo mode
    marketer, campaign = city
    _dispatch(marketer, campaign, step="s1", channel=Channel.SMS)
    client.force_login(marketer)

    # When the inbox and the overview are opened in Chinese
    pages = {
        name: client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="zh-hans")
        for name in ("campaigns:sandbox-inbox", "campaigns:promotion")
    }

    # Then they show no English word besides codes such as SMS and TD
    for name, answer in pages.items():
        assert answer.status_code == 200, name
        assert english_words(answer.content.decode()) == [], name
    assert reverse("campaigns:sandbox-inbox") in pages["campaigns:promotion"].content.decode()
    # And outside demo mode the inbox is not there
    settings.QUANWANG_DEMO = False
    assert client.get(reverse("campaigns:sandbox-inbox")).status_code == 404


def test_an_auditor_reads_the_inbox_but_cannot_reply(
    demo: Any, city: tuple[Any, Campaign], client: Client
) -> None:
    marketer, campaign = city
    _dispatch(marketer, campaign, step="s1", channel=Channel.SMS)
    auditor = factories.user(role=Role.AUDITOR, at=campaign.org_unit)
    client.force_login(auditor)
    message = SandboxMessage.objects.first()
    assert message is not None

    page = client.get(reverse("campaigns:sandbox-inbox")).content.decode()
    answer = client.post(reverse("campaigns:sandbox-reply"), {"message": message.pk, "quick": "TD"})

    assert "139****" in page
    assert reverse("campaigns:sandbox-reply") not in page
    assert answer.status_code == 404
    assert not SandboxMessage.objects.filter(direction=Direction.FROM_CUSTOMER).exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_starts_the_sandbox_as_a_third_child_in_demo_mode(settings: Any) -> None:
    # Given demo mode and a free port for the sandbox
    settings.QUANWANG_DEMO = True
    port = _free_port()
    options = {"host": "0.0.0.0", "port": 8123, "workers": 1, "no_task_worker": False,
               "sandbox_port": port}  # fmt: skip

    # When serve lists its children
    supervised = children(options)

    # Then the sandbox is the third, on loopback, posting replies to the console's port
    assert len(supervised) == 3
    sandbox = supervised[2]
    assert sandbox.argv[-5:] == [
        "sandbox", "--port", str(port), "--console-url", "http://127.0.0.1:8123",
    ]  # fmt: skip
    # And that command really serves the gateways (run here without gunicorn)
    env = shared_env(settings)
    sandbox = dataclasses.replace(
        sandbox,
        spawn=functools.partial(
            subprocess.Popen, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
    )
    sandbox.start()
    try:
        assert _answers(f"http://127.0.0.1:{port}/health")
    finally:
        sandbox.terminate()
        sandbox.wait(deadline=time.monotonic() + 10)
    # And without demo mode there is no sandbox
    settings.QUANWANG_DEMO = False
    assert [c.argv[2] for c in children(options)] == ["gunicorn", "quanwang.cli"]


def _answers(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, trust_env=False).is_success:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False
