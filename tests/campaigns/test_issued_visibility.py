"""Managers see the campaigns issued to their units (defect 6), and only those: a campaign of
a level above, once issued with a quota in their unit, is theirs to view and to work, never to
change or approve."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from quanwang.campaigns.choices import CampaignState, ContactOutcome
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import create_campaign, get_campaign, transition, visible
from quanwang.campaigns.tasks import record_outcome
from quanwang.core.choices import Action, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TEN_AM,
    TODAY,
    approved,
    design,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)


def _issued(tree: factories.Tree) -> tuple[Any, Campaign]:
    """A province campaign issued to both cities' grids (quotas in grid A and grid B)."""
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    return designer, campaign


def _city_a_campaign(tree: factories.Tree) -> Campaign:
    """A campaign of city A, issued: its only quota is grid A's."""
    designer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    # No offer: a city's smaller audience would not pay for the province's subsidy.
    campaign = create_campaign(
        actor=designer, org_unit=tree.city_a, design=design(tree, offers=[]), today=TODAY
    )
    campaign = transition(actor=designer, campaign=campaign, move="submit")
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    transition(actor=approver, campaign=campaign, move="approve", comment="同意")
    return transition(actor=designer, campaign=campaign, move="issue", today=TODAY)


@pytest.mark.parametrize(
    ("role", "unit"), [(Role.GRID_MANAGER, "grid_a"), (Role.COUNTY_MANAGER, "county_a")]
)
def test_a_manager_sees_the_province_campaign_issued_to_their_unit_with_their_quota(
    tree: factories.Tree, city: Snapshot, client: Client, role: Role, unit: str
) -> None:
    # Given a province campaign issued with a quota in grid A, and grid A's or county A's manager
    _designer, campaign = _issued(tree)
    client.force_login(factories.user(role=role, at=getattr(tree, unit)))

    # When they open the campaign list and the campaign
    listed = client.get("/campaigns/")
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then the campaign is listed with their own quota and deadline, and its page opens
    [(shown, quotas)] = listed.context["rows"]
    assert shown == campaign
    [mine] = quotas
    assert (mine.unit, mine.deadline, mine.shared) == (getattr(tree, unit), campaign.ends_on, False)
    assert mine.target > 0
    assert 'class="my-quota"' in listed.content.decode()
    assert page.status_code == 200
    # (their quota is grid A's, which their page shows, not grid B's)
    assert [p.unit for p in page.context["progress"]] == [tree.grid_a]
    assert tree.grid_b.code not in [row.unit.code for row in page.context["progress_tree"]]
    assert mine.target == page.context["progress"][0].target


def test_a_manager_of_another_city_gets_404_and_an_empty_list(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given city A's campaign, issued to grid A only, and the county manager of city B
    campaign = _city_a_campaign(tree)
    outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    client.force_login(outsider)

    # When they open the list, the campaign and its report
    listed = client.get("/campaigns/")
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then nothing of it is shown
    assert page.status_code == 404
    assert list(listed.context["rows"]) == []
    assert campaign.name not in listed.content.decode()
    with pytest.raises(NotFound):
        get_campaign(user=outsider, pk=campaign.pk)


def test_a_campaign_of_the_level_above_stays_hidden_until_it_is_issued(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a province campaign approved but not issued yet, and grid A's manager
    designer = marketer(tree)
    campaign = approved(tree, designer)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    client.force_login(manager)

    # Then it is not theirs: no quota has been issued to them
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert not visible(manager).filter(pk=campaign.pk).exists()


@pytest.mark.parametrize("move", ["start", "close"])
def test_a_manager_of_an_issued_unit_may_not_move_the_campaign(
    tree: factories.Tree, city: Snapshot, client: Client, move: str
) -> None:
    # Given the province campaign issued (or running), seen by county A's manager
    designer, campaign = _issued(tree)
    if move == "close":
        campaign = transition(actor=designer, campaign=campaign, move="start")
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    client.force_login(manager)
    before = campaign.state

    # When they try to move it, through the service and the page
    with pytest.raises(ServiceError):
        transition(actor=manager, campaign=campaign, move=move)
    client.post(f"/campaigns/{campaign.pk}/{move}/", {"comment": "试试"})

    # Then it has not moved, and the page offers them no step
    campaign.refresh_from_db()
    assert campaign.state == before
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert page.context["moves"] == []
    assert not visible(manager, Action.CHANGE).filter(pk=campaign.pk).exists()
    assert not visible(manager, Action.APPROVE).filter(pk=campaign.pk).exists()


def test_a_manager_of_an_issued_unit_may_not_change_its_estimate_or_dispatch(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given the issued province campaign, seen by grid A's manager
    _designer, campaign = _issued(tree)
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    # When they post to the forms that change it
    estimate = client.post(f"/campaigns/{campaign.pk}/estimate/", {"take_rate_expected": "0.9"})
    dispatch = client.post(
        f"/campaigns/{campaign.pk}/dispatch/", {"step": "s9", "channel": "sms", "text": "hi"}
    )

    # Then both are refused as unknown pages, and the page carries no such form
    assert (estimate.status_code, dispatch.status_code) == (404, 404)
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert page.context["dispatch_form"] is None
    assert page.context["response_form"] is None
    assert Campaign.objects.get(pk=campaign.pk).dispatch_steps.count() == 0


def test_a_grid_manager_records_an_outcome_and_reads_it_on_the_campaign_page(
    tree: factories.Tree, city: Snapshot, client: Client, tmp_path: Path
) -> None:
    # Given the province campaign's task step on grid A's list, and grid A's manager
    load_city_warehouse(tree, tmp_path)
    designer, campaign = _issued(tree)
    dispatch_tasks(designer, campaign)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    treated = sorted(
        row["subscriber_id"]
        for row in _frozen(campaign)
        if row["grid_id"] == tree.grid_a.code and not row["in_control"]
    )

    # When they record one customer's acceptance
    record_outcome(
        actor=manager, campaign=campaign, subscriber_id=treated[0],
        outcome=ContactOutcome.ACCEPTED, at=TEN_AM + dt.timedelta(hours=1),
    )  # fmt: skip
    client.force_login(manager)
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then their grid's row counts the taker, and the page links to the campaign's task list
    [grid_row] = page.context["progress_tree"]
    assert (grid_row.unit, grid_row.responders, grid_row.contacted) == (tree.grid_a, 1, 1)
    assert page.context["task_list_url"] == f"/campaigns/tasks/?campaign={campaign.pk}"
    assert campaign.state == CampaignState.ISSUED


def _frozen(campaign: Campaign) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    return list(pq.read_table(campaign.audience_path).to_pylist())


def test_the_campaign_page_opens_without_progress_when_the_frozen_audience_is_lost(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given an issued campaign whose frozen audience file is gone (a restore without var/)
    designer, campaign = _issued(tree)
    Path(campaign.audience_path).unlink()
    client.force_login(designer)

    # When its designer opens it
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then the page answers, without the progress it cannot count
    assert page.status_code == 200
    assert page.context["progress"] == []
