"""Inbound SMS replies posted by the gateway: TD opts out, Y accepts, once per message id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client

from quanwang.campaigns.choices import CampaignState, CampaignType, Channel, ReviewState
from quanwang.campaigns.dispatch import opt_outs_file, send_step
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.models import Campaign, ReplyReview, Segment, SegmentVersion
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.responses import responses_file
from quanwang.campaigns.services import evaluation_table
from quanwang.data.importer import import_file
from tests import factories
from tests.campaigns.conftest import TEN_AM
from tests.campaigns.dispatching import ledger
from tests.campaigns.gateway import Gateway
from tests.insight.conftest import PLANS

URL = "/api/v1/campaigns/sms/inbound"
TOKEN = "gateway-shared-secret"
COUNT = 20


def _number(i: int) -> str:
    return f"139{i:08d}"


@pytest.fixture
def inbound(settings: Any, gateway: Gateway) -> Gateway:
    """The loopback SMS gateway, with the shared secret for its inbound replies."""
    settings.QUANWANG_CHANNELS = {
        "sms": {**settings.QUANWANG_CHANNELS["sms"], "inbound_token": TOKEN}
    }
    return gateway


@pytest.fixture
def texted(tree: factories.Tree, tmp_path: Path, inbound: Gateway) -> Campaign:
    """A running campaign whose first SMS step went to customers C00-C19 (C03 in control)."""
    people = [
        {"subscriber_id": f"C{i:02d}", "msisdn": _number(i), "segment": "个人",
         "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
         "plan_id": "P4G", "consent_sms": True}
        for i in range(COUNT)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    import_file(table_name="subscribers", path=files["subscribers"])
    frozen = tmp_path / "audience.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": [p["subscriber_id"] for p in people],
                "grid_id": [tree.grid_a.code] * COUNT,
                "in_control": [i == 3 for i in range(COUNT)],
                "do_not_disturb": [False] * COUNT,
                "value_tier": ["small"] * COUNT,
            }
        ),
        frozen,
    )
    segment = Segment.objects.create(name="全部", org_unit=tree.province)
    version = SegmentVersion.objects.create(
        segment=segment, number=1, rule={"all": []}, text_zh="全部", text_en="all"
    )
    campaign = Campaign.objects.create(
        name="流量包五折", campaign_type=CampaignType.UPSELL, hypothesis="h",
        objective_metric="m", objective_target=1, objective_deadline=dt.date(2024, 8, 31),
        segment_version=version, channels=[Channel.SMS], starts_on=dt.date(2024, 7, 1),
        ends_on=dt.date(2024, 8, 31), budget=100, state=CampaignState.RUNNING,
        audience_path=str(frozen), audience_size=COUNT, org_unit=tree.province,
    )  # fmt: skip
    send_step(**_step(campaign, "s1", TEN_AM))
    return campaign


def _step(campaign: Campaign, step: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "campaign_id": campaign.pk, "frozen": Path(campaign.audience_path), "step": step,
        "channel": Channel.SMS, "text": "流量包五折", "send_at": at, "policy": ContactPolicy(),
        "ledger": ledger(campaign, step=step, text="流量包五折"),
    }  # fmt: skip


def _post(client: Client, body: Any, *, token: str | None = TOKEN) -> Any:
    headers = {"HTTP_X_QUANWANG_INBOUND_TOKEN": token} if token is not None else {}
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def _reply(i: int, text: str, message_id: str = "M1") -> dict[str, Any]:
    return {
        "msisdn": f"+86 {_number(i)}",
        "text": text,
        "received_at": "2024-07-02T11:00:00+08:00",
        "message_id": message_id,
    }


def test_a_td_reply_opts_out_and_the_next_sms_step_holds_the_customer_back(
    texted: Campaign, client: Client
) -> None:
    # Given customer C05 replies TD to the first step
    answer = _post(client, _reply(5, "TD"))

    # When the next step goes out a week later
    send_step(**_step(texted, "s2", TEN_AM + dt.timedelta(days=7)))

    # Then they are held back as opted out, and only they
    excluded = duckdb.sql(
        "SELECT subscriber_id, exclusion_rule FROM "
        f"'{campaign_dir(texted.pk)}/dispatch/s2/excluded.parquet' "
        "WHERE exclusion_rule = 'opted_out'"
    ).fetchall()
    assert (answer.status_code, answer.json()["outcome"]) == (200, "opted_out")
    assert excluded == [("C05", "opted_out")]


def test_a_y_reply_accepts_the_campaign_and_evaluation_counts_the_response(
    texted: Campaign, client: Client
) -> None:
    # Given customer C07, who got the campaign's SMS, replies 是
    answer = _post(client, _reply(7, "是"))

    # When the campaign's evaluation table is built
    responded = [r["subscriber_id"] for r in evaluation_table(campaign=texted).to_pylist()
                 if r["responded"]]  # fmt: skip

    # Then the reply counts as their response to this campaign
    assert answer.json() == {
        "message_id": "M1", "outcome": "accepted", "campaign_id": texted.pk, "reason": None,
        "replayed": False,
    }  # fmt: skip
    assert responded == ["C07"]


def test_a_replayed_message_id_changes_nothing(texted: Campaign, client: Client) -> None:
    # Given a Y reply the gateway posts again (same message id), then the same customer's TD
    # posted under that id by mistake
    first = _post(client, _reply(7, "Y", message_id="M9"))

    again = _post(client, _reply(7, "TD", message_id="M9"))

    # Then the repeat answers as the first time and neither opts out nor adds a response
    assert again.json() == first.json() | {"replayed": True}
    assert not opt_outs_file().exists()
    assert pq.read_metadata(responses_file(texted.pk)).num_rows == 1


def test_an_opt_out_is_recorded_once_per_subscriber_and_channel(
    texted: Campaign, client: Client
) -> None:
    # Given a customer who sends TD twice (two replies, two message ids)
    _post(client, _reply(5, "TD", message_id="M1"))

    _post(client, _reply(5, "退订", message_id="M2"))

    assert pq.read_table(opt_outs_file()).select(["subscriber_id", "channel"]).to_pylist() == [
        {"subscriber_id": "C05", "channel": "sms"}
    ]


@pytest.mark.parametrize("token", [None, "wrong-secret"])
def test_a_post_without_the_right_secret_is_refused(
    texted: Campaign, client: Client, token: str | None
) -> None:
    answer = _post(client, _reply(5, "TD"), token=token)

    assert answer.status_code == 401
    assert not opt_outs_file().exists()


def test_without_an_inbound_token_configured_every_post_is_refused(
    db: None, client: Client, gateway: Gateway
) -> None:
    # Given an SMS channel configured for sending only (the gateway fixture has no secret)
    answer = _post(client, _reply(5, "TD"), token="")

    assert answer.status_code == 401
    assert "inbound_token" in answer.json()["detail"]


def test_an_unknown_number_is_ignored(texted: Campaign, client: Client) -> None:
    answer = _post(client, _reply(99, "TD"))

    assert answer.status_code == 200
    assert (answer.json()["outcome"], answer.json()["reason"]) == ("ignored", "unknown_number")
    assert not opt_outs_file().exists()


@pytest.mark.parametrize(
    "body",
    [
        {"msisdn": "13900000005", "text": "TD", "received_at": "2024-07-02T11:00:00+08:00"},
        {"msisdn": "13900000005", "text": "TD", "received_at": "yesterday", "message_id": "M"},
        ["13900000005", "TD"],
    ],
)
def test_a_malformed_body_is_refused_with_422(texted: Campaign, client: Client, body: Any) -> None:
    answer = _post(client, body)

    assert answer.status_code == 422


def test_a_sender_that_is_not_a_mobile_number_is_refused_naming_the_field(
    texted: Campaign, client: Client
) -> None:
    answer = _post(client, _reply(5, "TD") | {"msisdn": "10086"})

    assert (answer.status_code, answer.json()["field"]) == (422, "msisdn")


@pytest.mark.parametrize(
    "text", ["退订。", "ＴＤ", "TD退订", "td.", "TD 谢谢", "t d", "不要再发了"]
)
def test_the_usual_forms_of_an_opt_out_opt_out(texted: Campaign, client: Client, text: str) -> None:
    # Given customer C05 replies in one of the forms customers type
    answer = _post(client, _reply(5, text))

    # Then they are opted out of SMS
    assert answer.json()["outcome"] == "opted_out"
    assert pq.read_table(opt_outs_file()).select(["subscriber_id", "channel"]).to_pylist() == [
        {"subscriber_id": "C05", "channel": "sms"}
    ]


def test_an_ambiguous_reply_is_held_for_review_once_and_not_opted_out(
    texted: Campaign, client: Client
) -> None:
    # Given customer C05 replies something that may or may not be an opt-out, posted twice
    first = _post(client, _reply(5, "我不想退订，这是什么", message_id="M7"))
    again = _post(client, _reply(5, "我不想退订，这是什么", message_id="M7"))

    # Then it waits for a person, once, naming the campaign that texted them
    review = ReplyReview.objects.get()
    assert first.json() == {
        "message_id": "M7", "outcome": "review", "campaign_id": texted.pk, "reason": None,
        "replayed": False,
    }  # fmt: skip
    assert again.json() == first.json() | {"replayed": True}
    assert (review.subscriber_id, review.text, review.state, review.campaign) == (
        "C05",
        "我不想退订，这是什么",
        ReviewState.PENDING,
        texted,
    )
    assert review.org_unit == texted.org_unit
    assert not opt_outs_file().exists()
