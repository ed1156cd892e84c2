"""A WeChat step end to end: the policy, the customers' openids, the WeChat API on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quanwang.campaigns.choices import Channel, ExclusionRule
from quanwang.campaigns.dispatch import DispatchError, opt_outs_file, send_step
from quanwang.campaigns.policy import ContactPolicy
from quanwang.data.importer import import_file
from quanwang.data.warehouse import Warehouse
from tests import factories
from tests.campaigns.conftest import TEN_AM
from tests.campaigns.dispatching import LocalLedger
from tests.campaigns.test_channels import FakeWechat
from tests.campaigns.test_channels import Gateway as HttpServer
from tests.insight.conftest import PLANS

COUNT = 40
OPTED_OUT = {2, 6}


def _openid(i: int) -> str | None:
    """Every 4th customer (i % 4 == 1) does not follow the official account."""
    return None if i % 4 == 1 else f"o{i:027d}"


def _fate(i: int) -> str:
    """What the policy does with customer i, first rule first; "sent" when allowed."""
    if i % 10 == 3:
        return ExclusionRule.CONTROL_GROUP
    if i in OPTED_OUT:
        return ExclusionRule.OPTED_OUT
    if i % 5 == 0:
        return ExclusionRule.NO_CONSENT
    if _openid(i) is None:
        return ExclusionRule.NO_RECIPIENT
    return "sent"


def _customers(tmp_path: Path) -> Path:
    """COUNT subscribers in the warehouse (every 5th without WeChat consent, every 4th
    without an openid), two opted out of WeChat, and their frozen audience (every 10th in
    control)."""
    people = [
        {
            "subscriber_id": f"C{i:05d}", "msisdn": f"139{i:08d}", "segment": "个人",
            "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
            "plan_id": "P4G", "consent_wechat": i % 5 != 0, "wechat_openid": _openid(i),
        }
        for i in range(COUNT)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    import_file(table_name="subscribers", path=files["subscribers"])
    opt_outs_file().parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "subscriber_id": [f"C{i:05d}" for i in sorted(OPTED_OUT)],
                "channel": [str(Channel.WECHAT)] * len(OPTED_OUT),
                "opted_out_at": pa.array([TEN_AM] * len(OPTED_OUT), pa.timestamp("us", tz="UTC")),
            }
        ),
        opt_outs_file(),
    )
    frozen = tmp_path / "audience.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": [p["subscriber_id"] for p in people],
                "grid_id": ["G1"] * COUNT,
                "in_control": [i % 10 == 3 for i in range(COUNT)],
                "do_not_disturb": [False] * COUNT,
            }
        ),
        frozen,
    )
    return frozen


@pytest.fixture
def wechat_api(settings: Any) -> Iterator[HttpServer]:
    """The WeChat API on loopback, configured as the deployment's WeChat channel."""
    served = HttpServer(respond=FakeWechat()).start()
    settings.QUANWANG_CHANNELS = {
        "wechat": {
            "app_id": "wx123", "app_secret": "s3cret", "api_base": served.url,
            "backoff_s": 0.0, "template_id": "TPL-CARE", "text_field": "remark",
        }
    }  # fmt: skip
    yield served
    served.stop()


def _sends(api: HttpServer) -> list[dict[str, Any]]:
    return [r.json() for r in api.received if r.path == "/cgi-bin/message/template/send"]


def test_a_wechat_step_sends_one_template_message_to_each_allowed_follower(
    db: None, tmp_path: Path, wechat_api: HttpServer
) -> None:
    # Given customers with and without openids, consent, opt-outs and a control group
    frozen = _customers(tmp_path)

    # When a WeChat step is dispatched in batches
    report = send_step(
        campaign_id=1, frozen=frozen, step="w1", channel=Channel.WECHAT, text="流量包五折",
        send_at=TEN_AM, policy=ContactPolicy(), ledger=LocalLedger(), batch_size=7,
    )  # fmt: skip

    # Then each allowed follower got exactly one message, from the configured template
    sends = _sends(wechat_api)
    expected = sorted(_openid(i) or "" for i in range(COUNT) if _fate(i) == "sent")
    assert sorted(body["touser"] for body in sends) == expected
    assert {body["template_id"] for body in sends} == {"TPL-CARE"}
    assert all(body["data"] == {"remark": {"value": "流量包五折"}} for body in sends)
    assert report.sent == len(expected)
    assert report.failed == 0


def test_a_wechat_step_logs_customers_without_an_openid_as_having_no_recipient(
    db: None, tmp_path: Path, wechat_api: HttpServer, settings: Any
) -> None:
    # Given customers, some of whom allowed on WeChat but without an openid
    frozen = _customers(tmp_path)

    # When a WeChat step is dispatched
    report = send_step(
        campaign_id=1, frozen=frozen, step="w1", channel=Channel.WECHAT, text="t",
        send_at=TEN_AM, policy=ContactPolicy(), ledger=LocalLedger(),
    )  # fmt: skip

    # Then every customer is either sent to or held back under the first rule that applies
    fates: dict[str, int] = {}
    for i in range(COUNT):
        fates[str(_fate(i))] = fates.get(str(_fate(i)), 0) + 1
    assert report.excluded == {k: v for k, v in fates.items() if k != "sent"}
    logged = duckdb.sql(
        f"SELECT subscriber_id FROM '{settings.VAR_DIR}/campaigns/1/dispatch/w1/excluded.parquet' "
        f"WHERE exclusion_rule = '{ExclusionRule.NO_RECIPIENT}' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in logged] == [
        f"C{i:05d}" for i in range(COUNT) if _fate(i) == ExclusionRule.NO_RECIPIENT
    ]


def test_a_warehouse_stored_before_openids_existed_holds_everyone_back_on_wechat(
    db: None, tmp_path: Path, wechat_api: HttpServer
) -> None:
    # Given a subscribers table stored without the wechat_openid column
    frozen = _customers(tmp_path)
    stored = Warehouse().current_file("subscribers")
    assert stored is not None
    pq.write_table(pq.read_table(stored).drop_columns(["wechat_openid"]), stored)

    # When a WeChat step is dispatched
    report = send_step(
        campaign_id=1, frozen=frozen, step="w1", channel=Channel.WECHAT, text="t",
        send_at=TEN_AM, policy=ContactPolicy(), ledger=LocalLedger(),
    )  # fmt: skip

    # Then nothing is sent and the allowed customers are logged as having no recipient
    assert _sends(wechat_api) == []
    assert report.planned == 0
    allowed = sum(1 for i in range(COUNT) if _fate(i) in {"sent", ExclusionRule.NO_RECIPIENT})
    assert report.excluded[ExclusionRule.NO_RECIPIENT] == allowed


def test_a_wechat_step_without_a_configured_template_is_refused_before_sending(
    db: None, tmp_path: Path, wechat_api: HttpServer, settings: Any
) -> None:
    # Given a WeChat channel configured without a template id
    frozen = _customers(tmp_path)
    del settings.QUANWANG_CHANNELS["wechat"]["template_id"]

    # When a WeChat step is dispatched, then it is refused, saying what is missing
    with pytest.raises(DispatchError, match="no approved WeChat template"):
        send_step(
            campaign_id=1, frozen=frozen, step="w1", channel=Channel.WECHAT, text="t",
            send_at=TEN_AM, policy=ContactPolicy(), ledger=LocalLedger(),
        )  # fmt: skip
    assert wechat_api.received == []
