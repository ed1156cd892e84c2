"""Quotas per grid or per county, rolled up from grid to county to city to province, with
progress bars against the quota and the time elapsed."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
from django.test import Client
from django.utils import timezone

from quanwang.campaigns.choices import CampaignState, TaskSplit
from quanwang.campaigns.demo import DEMO_RUNNING, build_campaign_demo
from quanwang.campaigns.models import Campaign, EarlyWarning, Quota, TaskOutcome
from quanwang.campaigns.responses import import_responses
from quanwang.campaigns.services import (
    ProgressRow,
    campaign_progress,
    execution_progress,
    transition,
)
from quanwang.campaigns.warnings import raise_warnings
from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, approved, design, load_city_warehouse, marketer
from tests.campaigns.test_account_managers import MANAGER_NO, _load_enterprises

# 31 of the window's 61 days: just past half-way.
MID = dt.date(2024, 8, 1)


def _issued(tree: factories.Tree, split: TaskSplit = TaskSplit.GRID) -> tuple[Any, Campaign]:
    designer = marketer(tree)
    chosen = design(tree, task_split=split)
    campaign = approved(tree, designer, chosen)
    return designer, transition(actor=designer, campaign=campaign, move="issue", today=TODAY)


def _all_responded(campaign: Campaign, unit: OrgUnit, tmp_path: Path) -> int:
    """Every treated customer of grid `unit` took the offer; how many they are."""
    treated = duckdb.execute(
        f"SELECT subscriber_id FROM '{campaign.audience_path}' "
        f"WHERE grid_id = '{unit.code}' AND NOT in_control"
    ).fetchall()
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
        writer.writerows([[campaign.pk, sid, "2024-07-10", "20"] for (sid,) in treated])
    import_responses(
        path=path, audiences={campaign.pk: Path(campaign.audience_path)},
        quarantine_dir=tmp_path / "q",
    )  # fmt: skip
    return len(treated)


def _rows(tree: list[ProgressRow]) -> dict[str, ProgressRow]:
    return {row.unit.code: row for row in tree if row.account_manager is None}


def test_a_grid_split_rolls_up_from_grid_to_county_to_city_to_province(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a province campaign split by grid, and every treated customer of grid B a taker
    _designer, campaign = _issued(tree)
    takers_b = _all_responded(campaign, tree.grid_b, tmp_path)

    # When the province reads its progress just past half-way
    progress = campaign_progress(campaign=campaign, user=None, today=MID)

    # Then the tree runs province → city → county → grid, each level the sum of the one below
    assert progress is not None
    assert [(r.unit.code, r.depth) for r in progress.tree] == [
        ("P1", 0), ("CA", 1), ("CA-1", 2), ("CA-1-G1", 3),
        ("CB", 1), ("CB-1", 2), ("CB-1-G1", 3),
    ]  # fmt: skip
    rows = _rows(progress.tree)
    quotas = {q.org_unit.code: q for q in Quota.objects.filter(campaign=campaign)}
    assert set(quotas) == {tree.grid_a.code, tree.grid_b.code}
    for grid, county, city_code in (("CA-1-G1", "CA-1", "CA"), ("CB-1-G1", "CB-1", "CB")):
        assert rows[grid].holds_quota
        assert not rows[county].holds_quota
        assert rows[grid].target == rows[county].target == rows[city_code].target
        assert rows[grid].target == quotas[grid].target
        assert rows[grid].audience == quotas[grid].audience
    assert rows["P1"].target == quotas["CA-1-G1"].target + quotas["CB-1-G1"].target
    assert rows["P1"].audience == rows["CA"].audience + rows["CB"].audience
    assert (rows["CB-1-G1"].responders, rows["CB"].responders, rows["P1"].responders) == (
        takers_b, takers_b, takers_b,
    )  # fmt: skip
    # (and grid A, no taker by mid-window, is behind plan, up to its city; the province, with
    # grid B far ahead, is not)
    assert [rows[c].behind for c in ("CA-1-G1", "CA-1", "CA", "CB-1-G1", "P1")] == [
        True, True, True, False, False,
    ]  # fmt: skip


def test_a_county_split_sets_one_quota_per_county_summing_its_grids(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a province campaign split by county
    _designer, campaign = _issued(tree, TaskSplit.COUNTY)

    # Then each county holds one quota, for the treated customers of its grids
    quotas = {q.org_unit.code: q for q in Quota.objects.filter(campaign=campaign)}
    treated = dict(
        duckdb.execute(
            f"SELECT grid_id, count(*) FILTER (WHERE NOT in_control) "
            f"FROM '{campaign.audience_path}' GROUP BY 1"
        ).fetchall()
    )
    assert set(quotas) == {tree.county_a.code, tree.county_b.code}
    assert quotas[tree.county_a.code].audience == treated[tree.grid_a.code]
    assert quotas[tree.county_b.code].audience == treated[tree.grid_b.code]
    assert quotas[tree.county_a.code].deadline == campaign.ends_on

    # And its progress is read per county, the grids under it without a quota of their own
    progress = campaign_progress(campaign=campaign, user=None, today=MID)
    assert progress is not None
    assert [p.unit for p in progress.quotas] == [tree.county_a, tree.county_b]
    rows = _rows(progress.tree)
    assert rows[tree.county_a.code].holds_quota
    assert rows[tree.grid_a.code].target is None
    assert rows[tree.grid_a.code].audience == treated[tree.grid_a.code]
    assert rows["P1"].target == sum(q.target for q in quotas.values())


def test_a_county_behind_its_quota_warns_its_county_manager(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a campaign split by county, county B's grid all takers, county A's manager
    _designer, campaign = _issued(tree, TaskSplit.COUNTY)
    _all_responded(campaign, tree.grid_b, tmp_path)
    county_manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When the day's warnings are raised just past half-way
    raise_warnings(campaign=campaign, today=MID)

    # Then county A's quota is warned, to its county manager; county B is on pace
    [warning] = EarlyWarning.objects.all()
    assert warning.org_unit == tree.county_a
    assert [e["user_id"] for e in warning.delivered] == [county_manager.pk]
    assert [p.behind for p in execution_progress(campaign=campaign, today=MID)] == [True, False]


def test_a_county_manager_sees_their_countys_row_and_its_grids(
    tree: factories.Tree, city: Snapshot, client: Client, tmp_path: Path
) -> None:
    # Given a province campaign split by county, warned for county A at mid-window
    _designer, campaign = _issued(tree, TaskSplit.COUNTY)
    _all_responded(campaign, tree.grid_b, tmp_path)
    raise_warnings(campaign=campaign, today=MID)
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    # When county A's manager opens the campaign
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then they read their county's row (its quota) and its grid, nothing of city B
    assert page.status_code == 200
    assert [(r.unit, r.depth) for r in page.context["progress_tree"]] == [
        (tree.county_a, 0),
        (tree.grid_a, 1),
    ]
    county_row = page.context["progress_tree"][0]
    assert county_row.holds_quota
    assert county_row.warning is not None
    assert county_row.warning.org_unit == tree.county_a
    body = page.content.decode()
    assert tree.county_b.name not in body
    assert 'class="pace-bar' in body


def test_a_grid_manager_sees_the_county_quota_shared_out_to_their_grid(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a campaign split by county and grid A's manager
    _designer, campaign = _issued(tree, TaskSplit.COUNTY)
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    # When they open the campaign list and the campaign
    listed = client.get("/campaigns/")
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then the list gives county A's quota as shared, and the page their grid's row alone
    [(_campaign, [quota])] = listed.context["rows"]
    county_quota = Quota.objects.get(campaign=campaign, org_unit=tree.county_a)
    assert (quota.unit, quota.target, quota.shared) == (tree.county_a, county_quota.target, True)
    assert [r.unit for r in page.context["progress_tree"]] == [tree.grid_a]


def test_the_bars_show_takers_against_quota_and_the_time_elapsed(
    tree: factories.Tree, city: Snapshot, client: Client, tmp_path: Path
) -> None:
    # Given grid B all takers and grid A none, read by the designer just past half-way
    designer, campaign = _issued(tree)
    _all_responded(campaign, tree.grid_b, tmp_path)

    progress = campaign_progress(campaign=campaign, user=designer, today=MID)

    # Then grid B's bar is full and grid A's empty, the mark at the share of the window gone
    assert progress is not None
    rows = _rows(progress.tree)
    assert rows["CB-1-G1"].achieved_width == "100.0%"
    assert rows["CA-1-G1"].achieved_width == "0.0%"
    assert rows["CA-1-G1"].expected_width == f"{31 / 61 * 100:.1f}%"
    # (and on the page, each unit's bar, behind or not, with its warning beside it)
    client.force_login(designer)
    body = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert body.count('class="pace-bar') == len(rows)
    assert 'id="quotas"' in body


def test_the_demo_builds_a_running_campaign_with_a_grid_warned_today(
    tree: factories.Tree, city: Snapshot, tmp_path: Path, client: Client
) -> None:
    # Given the demo's logins over the test city (its grid manager in grid A) and its customers
    load_city_warehouse(tree, tmp_path)
    factories.user(role=Role.CITY_MARKETER, at=tree.city_a, username="city_marketer")
    factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    grid_manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a, username="grid_manager")
    county_manager = factories.user(
        role=Role.COUNTY_MANAGER, at=tree.county_a, username="county_manager"
    )
    today = timezone.localdate()

    # When the demo's campaigns are built
    said: list[str] = []
    build_campaign_demo(say=said.append)

    # Then its running campaign is two thirds through its window, with outcomes recorded on
    # the grid's task list, and grid A (the grid manager's, lagging) is warned today
    campaign = Campaign.objects.get(name=DEMO_RUNNING)
    assert campaign.state == CampaignState.RUNNING, said
    assert campaign.starts_on < today < campaign.ends_on
    assert TaskOutcome.objects.filter(campaign=campaign).exists()
    [warning] = EarlyWarning.objects.filter(campaign=campaign)
    assert (warning.org_unit, warning.day) == (tree.grid_a, today)
    # (from the outcomes alone: the live progress agrees, and nothing is recorded ahead of now)
    [grid_a] = execution_progress(campaign=campaign, today=today)
    assert grid_a.behind
    assert not TaskOutcome.objects.filter(recorded_at__gt=timezone.now()).exists()
    # (and the county manager reads it on the campaign's page, as the grid manager does)
    for user in (county_manager, grid_manager):
        client.force_login(user)
        page = client.get(f"/campaigns/{campaign.pk}/")
        assert [s.warning for s in page.context["warnings"]] == [warning]
        assert any(row.behind for row in page.context["progress_tree"])


def test_an_account_managers_quota_rolls_up_into_their_county(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given county A's account manager serving a bank, and a campaign split by account manager
    load_city_warehouse(tree, tmp_path)
    staff = factories.staff(at=tree.county_a, employee_no=MANAGER_NO, name="黄经理")
    _load_enterprises(tree, tmp_path)
    _designer, campaign = _issued(tree, TaskSplit.ACCOUNT_MANAGER)

    progress = campaign_progress(campaign=campaign, user=None, today=MID)

    # Then the manager's row sits under county A, beside grid A, and county A adds up both
    assert progress is not None
    shown = [(r.unit.code, r.account_manager, r.depth) for r in progress.tree]
    assert shown[:4] == [
        ("P1", None, 0), ("CA", None, 1), ("CA-1", None, 2), ("CA-1-G1", None, 3),
    ]  # fmt: skip
    assert ("CA-1", staff, 3) in shown
    rows = {(r.unit.code, r.account_manager): r for r in progress.tree}
    mine = Quota.objects.get(campaign=campaign, account_manager=staff)
    grid_a = Quota.objects.get(campaign=campaign, org_unit=tree.grid_a)
    assert rows[("CA-1", staff)].target == mine.target
    assert rows[("CA-1", None)].target == mine.target + grid_a.target
    assert rows[("CA-1", None)].audience == mine.audience + grid_a.audience
