"""Campaign history in the wide table: evaluated campaigns' results feed the next snapshot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from quanwang.campaigns.rules import describe
from quanwang.campaigns.segments import audience_expression, checked
from quanwang.core.choices import Role
from quanwang.data.customers import Scope
from quanwang.insight.history import HISTORY_COLUMNS
from quanwang.insight.snapshots import SnapshotStore
from tests import factories
from tests.insight.conftest import subscriber, usage_rows

TREATED, CONTROL = "treated", "control"
PEOPLE = [subscriber(s) for s in "ABCDE"]
USAGE = [row for s in "ABCDE" for row in usage_rows(s, {"2024-06": 50})]


def _results(
    campaign_id: int, *, ends: dt.date, rows: list[tuple[str, str, bool, bool, bool]]
) -> Path:
    """A campaign's results file where evaluation writes it: (subscriber, group, contacted,
    responded, refused) per customer."""
    folder = Path(settings.VAR_DIR) / "campaigns" / str(campaign_id)
    folder.mkdir(parents=True)
    ids, groups, contacted, responded, refused = (list(c) for c in zip(*rows, strict=True))
    table = pa.table(
        {
            "subscriber_id": ids,
            "group": groups,
            "responded": responded,
            "revenue": [0.0] * len(rows),
            "contacted": contacted,
            "campaign_id": pa.array([campaign_id] * len(rows), pa.int64()),
            "campaign_type": ["retention"] * len(rows),
            "window_start": pa.array([ends - dt.timedelta(days=30)] * len(rows), pa.date32()),
            "window_end": pa.array([ends] * len(rows), pa.date32()),
            "refused": refused,
        }
    )
    pq.write_table(table, folder / "results.parquet")
    return folder / "results.parquet"


def _history(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in HISTORY_COLUMNS)


def test_the_snapshot_counts_what_campaigns_of_the_last_6_months_did_to_each_customer(
    run: Any,
) -> None:
    # Given three evaluated campaigns: one ended in May, one in March, one in November 2023
    _results(1, ends=dt.date(2024, 5, 31), rows=[
        ("A", TREATED, True, True, False),  # reached, accepted
        ("B", CONTROL, False, True, False),  # held out (bought on their own)
        ("C", TREATED, False, False, False),  # treated, never reached
    ])  # fmt: skip
    _results(2, ends=dt.date(2024, 3, 15), rows=[("A", TREATED, True, False, True)])  # refused
    _results(3, ends=dt.date(2023, 11, 30), rows=[("D", TREATED, True, True, False)])

    # When the June snapshot is built
    rows = run(subscribers=PEOPLE, monthly_usage=USAGE)

    # Then (contacted, accepted, refused, in a control group, months since the last contact)
    # count the campaigns ended in January..June; November is 7 months back
    assert _history(rows["A"]) == (2, 1, 1, False, 1)
    assert _history(rows["B"]) == (0, 0, 0, True, None)
    assert _history(rows["C"]) == (0, 0, 0, False, None)
    assert _history(rows["D"]) == (0, 0, 0, False, 7)
    assert _history(rows["E"]) == (0, 0, 0, False, None)


def test_a_campaign_ending_after_the_snapshot_month_is_not_counted(run: Any) -> None:
    # Given a campaign that ended on the last day of June and one that ended on 1 July
    _results(1, ends=dt.date(2024, 6, 30), rows=[("A", TREATED, True, False, False)])
    _results(2, ends=dt.date(2024, 7, 1), rows=[
        ("A", TREATED, True, True, True), ("B", CONTROL, False, False, False),
    ])  # fmt: skip

    # When the June snapshot is built
    rows = run(subscribers=PEOPLE, monthly_usage=USAGE)

    # Then only June's campaign counts: July's answers are the snapshot's future
    assert _history(rows["A"]) == (1, 0, 0, False, 0)
    assert _history(rows["B"]) == (0, 0, 0, False, None)


def test_without_campaign_results_the_history_columns_are_there_and_empty(run: Any) -> None:
    # Given a warehouse and no evaluated campaign
    # When the June snapshot is built
    rows = run(subscribers=PEOPLE, monthly_usage=USAGE)

    # Then every customer has the columns: no campaigns, and no last contact
    assert {_history(row) for row in rows.values()} == {(0, 0, 0, False, None)}
    snapshot = SnapshotStore().latest()
    assert snapshot is not None
    assert not any(name.startswith("campaign_results") for name in snapshot.inputs)


def test_results_written_before_they_carried_the_window_are_not_counted(run: Any) -> None:
    # Given an older results file, without the campaign's window or refusals
    path = _results(1, ends=dt.date(2024, 5, 31), rows=[("A", TREATED, True, True, False)])
    pq.write_table(pq.read_table(path).drop(["window_start", "window_end", "refused"]), path)

    # When the June snapshot is built
    rows = run(subscribers=PEOPLE, monthly_usage=USAGE)

    # Then the snapshot is built, and the campaign, whose months cannot be told, counts nowhere
    assert _history(rows["A"]) == (0, 0, 0, False, None)


@pytest.mark.django_db
def test_a_segment_rule_leaves_out_customers_who_refused_lately(run: Any) -> None:
    # Given a June snapshot where A refused a campaign in May and B took its offer
    _results(1, ends=dt.date(2024, 5, 31), rows=[
        ("A", TREATED, True, False, True), ("B", TREATED, True, True, False),
    ])  # fmt: skip
    run(subscribers=PEOPLE, monthly_usage=USAGE)
    snapshot = SnapshotStore().latest()
    assert snapshot is not None

    # When a marketer's rule asks for customers who refused nothing in the last 6 months
    rule = {"all": [{"field": "campaign_refused_6m", "op": "=", "value": 0}]}
    checked(rule, user=None, snapshot=snapshot)
    _con, audience = audience_expression(
        rule=rule, snapshot=snapshot, scope=Scope(grids=None, gridless=True)
    )

    # Then everyone but A is in it, and the rule reads in Chinese
    assert sorted(audience.subscriber_id.to_pyarrow().to_pylist()) == ["B", "C", "D", "E"]
    assert describe(rule) == "近6月拒绝次数 = 0"


def test_the_segment_builder_offers_the_history_with_chinese_labels(
    run: Any, tree: factories.Tree, client: Client
) -> None:
    # Given a snapshot built with no campaign results, and a city marketer
    run(subscribers=PEOPLE, monthly_usage=USAGE)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.province))

    # When the segment builder page lists its fields in Chinese
    with translation.override("zh-hans"):
        response = client.get("/campaigns/segments/")
    fields = {f["name"]: (f["label"], f["kind"]) for f in response.context["fields"]}

    # Then the campaign history is there, as numbers and a yes/no
    assert fields["campaign_contacted_6m"] == ("近6月被营销次数", "number")
    assert fields["campaign_accepted_6m"] == ("近6月接受营销次数", "number")
    assert fields["campaign_refused_6m"] == ("近6月拒绝次数", "number")
    assert fields["campaign_months_since_contact"] == ("距上次营销月数", "number")
    assert fields["campaign_control_6m"] == ("近6月在对照组", "yes_no")


def test_the_campaign_history_is_no_feature_of_the_5g_or_uplift_models(run: Any) -> None:
    from quanwang.campaigns.uplift import uplift_features
    from quanwang.insight.upgrade import lookalike_features

    # Given a snapshot with the campaign history (A was reached in May)
    _results(1, ends=dt.date(2024, 5, 31), rows=[("A", TREATED, True, True, False)])
    rows = run(subscribers=PEOPLE, monthly_usage=USAGE)
    table = pa.Table.from_pylist(list(rows.values()))

    # When the models pick their features from it
    chosen = set(lookalike_features(table)) | set(uplift_features(table=table))

    # Then the history columns are not among them, while the usage features are
    assert set(HISTORY_COLUMNS) <= set(table.column_names)
    assert chosen.isdisjoint(HISTORY_COLUMNS)
    assert "arpu_3m" in chosen
