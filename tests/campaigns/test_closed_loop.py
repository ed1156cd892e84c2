"""Responses and evaluation: the loop from an issued campaign back to the warehouse."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.dispatch import send_step
from quanwang.campaigns.policy import Caps, ContactPolicy
from quanwang.campaigns.responses import ResponseError, import_responses, record_reply
from quanwang.campaigns.services import transition
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TEN_AM, TODAY, approved, marketer
from tests.campaigns.dispatching import LocalLedger
from tests.campaigns.gateway import Gateway
from tests.insight.conftest import PLANS


def _issued(tree: factories.Tree) -> Any:
    designer = marketer(tree)
    return designer, transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )


def _write(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
        writer.writerows(rows)
    return path


def test_responses_load_once_and_bad_rows_are_quarantined_with_reasons(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given an issued campaign over the 50 customers whose contracts end soon (S000, S004, …)
    _designer, campaign = _issued(tree)
    path = _write(
        tmp_path / "orders.csv",
        [
            [campaign.pk, "S000", "2024-07-05", "30"],
            [campaign.pk, "S000", "2024-07-06", "30"],  # the same response again
            [campaign.pk, "S004", "2024-07-05", "abc"],  # not a number
            [campaign.pk, "S001", "2024-07-05", "30"],  # not in the audience
            [999, "S008", "2024-07-05", "30"],  # no such campaign
            [campaign.pk, "S008", "2024-07-07", ""],
        ],
    )

    # When the file is imported
    report = import_responses(
        path=path, audiences={campaign.pk: Path(campaign.audience_path)},
        quarantine_dir=tmp_path / "q",
    )  # fmt: skip

    # Then two customers responded, the repeat counted once, three rows quarantined with why
    assert (report.rows, report.loaded, report.duplicates, report.quarantined) == (6, 2, 1, 3)
    with open(report.quarantine_file, encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["row"], r["column"], r["value"]) for r in rejected] == [
        ("4", "revenue", "abc"), ("5", "subscriber_id", "S001"), ("6", "campaign_id", "999"),
    ]  # fmt: skip
    assert rejected[1]["reason_en"] == "not in the campaign's audience"


def test_a_response_file_without_the_campaign_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("subscriber_id,revenue\nS1,3\n")

    with pytest.raises(ResponseError, match="campaign_id"):
        import_responses(path=path, audiences={}, quarantine_dir=tmp_path)


def test_a_td_reply_opts_out_of_sms_for_every_later_step(
    db: None,
    tmp_path: Path,
    gateway: Gateway,
) -> None:
    # Given ten customers, one of whom replies TD to the first step
    from quanwang.data.importer import import_file

    people = [
        {"subscriber_id": f"C{i}", "msisdn": f"1390000000{i}", "segment": "个人",
         "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
         "plan_id": "P4G", "consent_sms": True}
        for i in range(10)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    import_file(table_name="subscribers", path=files["subscribers"])
    frozen = tmp_path / "audience.parquet"
    duckdb.sql(
        "COPY (SELECT 'C' || i AS subscriber_id, 'G1' AS grid_id, false AS in_control, "
        f"false AS do_not_disturb FROM range(10) t(i)) TO '{frozen}' (FORMAT parquet)"
    )
    step = {"campaign_id": 7, "frozen": frozen, "channel": Channel.SMS, "text": "t",
            "policy": ContactPolicy(overall_caps=Caps(daily=5, monthly=10))}  # fmt: skip
    send_step(step="s1", send_at=TEN_AM, ledger=LocalLedger(), **step)

    reply = record_reply(
        msisdn="13900000003", text="退订", at=TEN_AM, sent={7: {f"C{i}" for i in range(10)}},
        subscriber_of={p["msisdn"]: p["subscriber_id"] for p in people},
    )  # fmt: skip

    # When the next step goes out a week later
    second = send_step(
        step="s2", send_at=TEN_AM + dt.timedelta(days=7), ledger=LocalLedger(), **step
    )

    # Then the customer who opted out is held back, and only they
    assert reply.opted_out
    assert second.excluded == {"opted_out": 1}


def test_a_closed_campaign_is_evaluated_against_its_control_group_and_written_back(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given an issued campaign and its responses: every treated customer with ARPU ≥ 100
    designer, campaign = _issued(tree)
    audience = duckdb.sql(
        f"SELECT subscriber_id, in_control, arpu_3m FROM '{campaign.audience_path}'"
    ).fetchall()
    rows = [
        [campaign.pk, s, "2024-07-05", "20"]
        for s, control, arpu in audience
        if arpu >= 100 and not control
    ]
    import_responses(
        path=_write(tmp_path / "orders.csv", rows),
        audiences={campaign.pk: Path(campaign.audience_path)}, quarantine_dir=tmp_path,
    )  # fmt: skip

    # When it runs, closes and is evaluated
    for move in ("start", "close", "evaluate"):
        campaign = transition(actor=designer, campaign=campaign, move=move)

    # Then the report exists in both formats and the per-customer results are written back
    folder = Path(campaign.audience_path).parent
    results = duckdb.sql(
        f'SELECT "group", count(*), count(*) FILTER (WHERE responded) '
        f"FROM '{folder / 'results.parquet'}' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert campaign.state == CampaignState.EVALUATED
    report = folder / "report" / f"campaign-{campaign.pk}-evaluation"
    assert report.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    assert report.with_suffix(".xlsx").exists()
    assert results == [("control", results[0][1], 0), ("treated", results[1][1], len(rows))]
