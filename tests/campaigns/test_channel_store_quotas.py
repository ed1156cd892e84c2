"""Issuing a campaign to stores (下发到网点): store quotas as shares of their grid's quota,
over-allocation refused (two issuers at once included), and the task lists dealt by them."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.urls import reverse
from django.utils import translation

from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.demo import build_campaign_demo
from quanwang.campaigns.demo_stores import DEMO_STORES
from quanwang.campaigns.dispatch import plan_step
from quanwang.campaigns.models import Campaign, CampaignEvent, Quota, TaskOutcome
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.services import campaign_progress
from quanwang.campaigns.store_quotas import (
    StoreShare,
    even_shares,
    issue_to_stores,
    store_quota_table,
)
from quanwang.channels.models import Store
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.campaigns.channel_support import SHANGHAI, campaign_of_files, store, task_plan
from tests.campaigns.conftest import load_city_warehouse
from tests.processes import database_shared_with_processes

TEN_AM = dt.datetime(2024, 7, 2, 10, 0, tzinfo=SHANGHAI)


def _campaign(tree: factories.Tree) -> Campaign:
    """Grid A: S000-S009 treated, S010 control (quota: 10 customers, 4 takers); grid B:
    S100-S103 treated (quota: 4 customers, 2 takers). Stores ST-A1..3 in A, ST-B1 in B."""
    a, b = tree.grid_a, tree.grid_b
    campaign = campaign_of_files(
        org_unit=tree.province,
        audience=[
            *[(f"S{i:03d}", a.code, False) for i in range(10)],
            ("S010", a.code, True),
            *[(f"S{i:03d}", b.code, False) for i in range(100, 104)],
        ],
    )
    Quota.objects.create(campaign=campaign, org_unit=a, audience=10, target=4,
                         deadline=dt.date(2024, 8, 31))  # fmt: skip
    Quota.objects.create(campaign=campaign, org_unit=b, audience=4, target=2,
                         deadline=dt.date(2024, 8, 31))  # fmt: skip
    for code in ("ST-A1", "ST-A2", "ST-A3"):
        store(code, grid=a, grade="重点店" if code == "ST-A1" else "芝麻店")
    store("ST-B1", grid=b)
    return campaign


@pytest.fixture
def campaign(tree: factories.Tree) -> Campaign:
    return _campaign(tree)


def _grid_manager(tree: factories.Tree) -> Any:
    return factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)


def _shares(campaign: Campaign) -> dict[str, tuple[int, int]]:
    return {
        q.store.store_id: (q.audience, q.target)
        for q in Quota.objects.filter(campaign=campaign, store__isnull=False).select_related(
            "store"
        )
    }


def test_a_grid_manager_issues_the_campaign_to_the_grids_stores(
    campaign: Campaign, tree: factories.Tree
) -> None:
    # When grid A's manager gives ST-A1 six customers (2 takers) and ST-A2 four (2 takers)
    manager = _grid_manager(tree)
    quotas = issue_to_stores(
        actor=manager,
        campaign_id=campaign.pk,
        shares=[StoreShare(store_id="ST-A1", audience=6, target=2),
                StoreShare(store_id="ST-A2", audience=4, target=2,
                           deadline=dt.date(2024, 7, 31))],
    )  # fmt: skip

    # Then each store holds a quota at its grid, the deadline its grid's unless given, and
    # the campaign's history says who issued what
    assert _shares(campaign) == {"ST-A1": (6, 2), "ST-A2": (4, 2)}
    assert {q.org_unit_id for q in quotas} == {tree.grid_a.pk}
    assert {q.store.store_id: q.deadline for q in quotas} == {
        "ST-A1": dt.date(2024, 8, 31),
        "ST-A2": dt.date(2024, 7, 31),
    }
    event = CampaignEvent.objects.filter(campaign=campaign).latest("pk")
    assert event.actor == manager
    assert "ST-A1 6/2" in event.comment


def test_more_customers_than_the_grids_quota_is_refused_and_nothing_changes(
    campaign: Campaign, tree: factories.Tree
) -> None:
    # Given ST-A1 already holds 6 of grid A's 10 customers
    manager = _grid_manager(tree)
    issue_to_stores(
        actor=manager, campaign_id=campaign.pk,
        shares=[StoreShare(store_id="ST-A1", audience=6, target=2)],
    )  # fmt: skip

    # When ST-A2 is given 5 more
    with pytest.raises(ServiceError, match="Over-allocated") as refused:
        issue_to_stores(
            actor=manager, campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-A2", audience=5, target=1)],
        )  # fmt: skip

    # Then the refusal names the stores and figures, and ST-A1's share stands alone
    assert "11" in refused.value.message
    assert "10" in refused.value.message
    assert "ST-A1 6" in refused.value.message
    assert "ST-A2 5" in refused.value.message
    assert _shares(campaign) == {"ST-A1": (6, 2)}


def test_more_takers_than_the_grids_quota_is_refused(
    campaign: Campaign, tree: factories.Tree
) -> None:
    with pytest.raises(ServiceError, match="Over-allocated") as refused:
        issue_to_stores(
            actor=_grid_manager(tree), campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-A1", audience=5, target=3),
                    StoreShare(store_id="ST-A2", audience=5, target=2)],
        )  # fmt: skip
    assert refused.value.field == "target"
    assert _shares(campaign) == {}


@pytest.mark.parametrize(
    ("share", "field", "words"),
    [
        (
            StoreShare(store_id="ST-A1", audience=2, target=3),
            "target",
            "more takers than customers",
        ),
        (StoreShare(store_id="ST-A1", audience=-1, target=0), "audience", "negative"),
        (
            StoreShare(store_id="ST-A1", audience=2, target=1, deadline=dt.date(2024, 9, 1)),
            "deadline",
            "after its quota",
        ),
        (StoreShare(store_id="ST-X9", audience=1, target=1), "store", "ST-X9"),
    ],
)
def test_bad_shares_are_refused_naming_the_field(
    campaign: Campaign, tree: factories.Tree, share: StoreShare, field: str, words: str
) -> None:
    with pytest.raises(ServiceError, match=words) as refused:
        issue_to_stores(actor=_grid_manager(tree), campaign_id=campaign.pk, shares=[share])
    assert refused.value.field == field
    assert _shares(campaign) == {}


def test_the_same_store_twice_in_one_request_is_refused(
    campaign: Campaign, tree: factories.Tree
) -> None:
    with pytest.raises(ServiceError, match="twice"):
        issue_to_stores(
            actor=_grid_manager(tree), campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-A1", audience=1, target=0),
                    StoreShare(store_id="ST-A1", audience=2, target=0)],
        )  # fmt: skip


def test_a_store_outside_the_issuers_grids_or_a_partner_cannot_be_issued_to(
    campaign: Campaign, tree: factories.Tree
) -> None:
    # Given grid A's manager, and a partner login of ST-A1
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=tree.grid_a)
    Store.objects.get(store_id="ST-A1").partners.add(partner)

    # Then grid B's store is not one of grid A's manager's, and the partner issues nothing
    with pytest.raises(ServiceError, match="ST-B1"):
        issue_to_stores(
            actor=_grid_manager(tree), campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-B1", audience=1, target=1)],
        )  # fmt: skip
    with pytest.raises(NotFound):
        issue_to_stores(
            actor=partner, campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-A1", audience=1, target=1)],
        )  # fmt: skip
    assert _shares(campaign) == {}


def test_zero_customers_and_takers_remove_a_stores_quota(
    campaign: Campaign, tree: factories.Tree
) -> None:
    manager = _grid_manager(tree)
    issue_to_stores(actor=manager, campaign_id=campaign.pk,
                    shares=[StoreShare(store_id="ST-A1", audience=6, target=2)])  # fmt: skip
    issue_to_stores(actor=manager, campaign_id=campaign.pk,
                    shares=[StoreShare(store_id="ST-A1", audience=0, target=0)])  # fmt: skip
    assert _shares(campaign) == {}


def test_once_a_task_step_is_planned_the_shares_are_fixed(
    campaign: Campaign, tree: factories.Tree
) -> None:
    # Given a task step already planned
    task_plan(campaign, [("S000", tree.grid_a.code, "ST-A1")])

    # Then a store's share can no longer be set
    with pytest.raises(ServiceError, match="fixed"):
        issue_to_stores(
            actor=_grid_manager(tree), campaign_id=campaign.pk,
            shares=[StoreShare(store_id="ST-A1", audience=1, target=1)],
        )  # fmt: skip


@pytest.fixture
def shared(transactional_db: None, settings: Any) -> Iterator[None]:
    """A database the test's threads share (SQLite: a file, as processes would)."""
    with database_shared_with_processes(settings):
        yield


def test_two_issuers_at_once_cannot_over_allocate_together(shared: None, settings: Any) -> None:
    # Given grid A's manager and its county's manager, each about to give a store 6 of the
    # grid's 10 customers
    tree = factories.Tree()
    campaign = _campaign(tree)
    issuers = [
        (_grid_manager(tree), "ST-A1"),
        (factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a), "ST-A2"),
    ]
    start = threading.Barrier(len(issuers))
    answers: dict[str, str] = {}

    def issue(actor: Any, code: str) -> None:
        # (a thread starts in the default language: the message is read in English)
        translation.activate("en")
        try:
            start.wait()
            issue_to_stores(
                actor=actor, campaign_id=campaign.pk,
                shares=[StoreShare(store_id=code, audience=6, target=2)],
            )  # fmt: skip
            answers[code] = "issued"
        except ServiceError as exc:
            answers[code] = exc.message
        finally:
            connections.close_all()

    # When both send at once
    threads = [threading.Thread(target=issue, args=issuer) for issuer in issuers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one store got its share and the other was refused as over-allocated
    assert sorted(a == "issued" for a in answers.values()) == [False, True], answers
    refused = next(a for a in answers.values() if a != "issued")
    assert "Over-allocated" in refused
    shares = _shares(campaign)
    assert len(shares) == 1
    assert sum(a for a, _t in shares.values()) == 6


def test_the_task_lists_deal_each_stores_share_and_leave_the_rest_to_the_grid(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city's customers and stores ST-A1..3 in the warehouse, and a campaign of
    # S000-S019 (grid A, S018-S019 in control) and S100-S104 (grid B) issued to ST-A1 (7) and
    # ST-A2 (5) of grid A
    load_city_warehouse(tree, tmp_path)
    a, b = tree.grid_a, tree.grid_b
    campaign = campaign_of_files(
        org_unit=tree.province,
        audience=[*[(f"S{i:03d}", a.code, i >= 18) for i in range(20)],
                  *[(f"S{i:03d}", b.code, False) for i in range(100, 105)]],
    )  # fmt: skip
    Quota.objects.create(campaign=campaign, org_unit=a, audience=18, target=6,
                         deadline=dt.date(2024, 8, 31))  # fmt: skip
    Quota.objects.create(campaign=campaign, org_unit=b, audience=5, target=2,
                         deadline=dt.date(2024, 8, 31))  # fmt: skip
    for code in ("ST-A1", "ST-A2", "ST-A3"):
        store(code, grid=a)
    issue_to_stores(
        actor=None, campaign_id=campaign.pk,
        shares=[StoreShare(store_id="ST-A1", audience=7, target=3),
                StoreShare(store_id="ST-A2", audience=5, target=2)],
    )  # fmt: skip

    # When the task step is planned
    plan, _excluded, _deferred = plan_step(
        campaign_id=campaign.pk, frozen=Path(campaign.audience_path), step="t1",
        channel=Channel.TASK, send_at=TEN_AM, policy=ContactPolicy(), text="上门",
        seed=campaign.seed, store_quotas=store_quota_table(campaign_id=campaign.pk),
    )  # fmt: skip

    # Then ST-A1 has 7 of grid A's customers, ST-A2 5, ST-A3 (not issued) none, the other 6
    # stay on the grid's own list; grid B (no store) is as before
    in_a = pc.equal(plan["grid_id"], a.code)
    dealt = Counter(plan.filter(in_a)["store_id"].to_pylist())
    assert dealt == {"ST-A1": 7, "ST-A2": 5, None: 6}
    assert set(plan.filter(pc.invert(in_a))["store_id"].to_pylist()) == {None}

    # And the progress tree shows each store's row under its grid, adding up to the grid's
    progress = campaign_progress(campaign=campaign, user=None, today=dt.date(2024, 7, 15))
    assert progress is not None
    rows = {(r.unit.code, r.store.store_id if r.store else None): r for r in progress.tree}
    assert rows[(a.code, "ST-A1")].audience == 7
    assert rows[(a.code, "ST-A1")].target == 3
    assert rows[(a.code, "ST-A2")].audience == 5
    assert rows[(a.code, None)].audience == 18
    assert rows[(a.code, None)].target == 6


def test_even_shares_split_each_grid_over_its_stores_within_the_quota(
    campaign: Campaign, tree: factories.Tree
) -> None:
    shares = even_shares(
        campaign=campaign, stores=list(Store.objects.filter(org_unit=tree.grid_a)),
        take_rate=0.4,
    )  # fmt: skip
    assert [(s.store_id, s.audience, s.target) for s in shares] == [
        ("ST-A1", 4, 1), ("ST-A2", 3, 1), ("ST-A3", 3, 1),
    ]  # fmt: skip
    issue_to_stores(actor=None, campaign_id=campaign.pk, shares=shares)
    assert sum(a for a, _t in _shares(campaign).values()) == 10


def test_the_demo_issues_a_county_campaign_to_its_stores_with_outcomes(
    tree: factories.Tree, city: Any, tmp_path: Path
) -> None:
    # Given the demo's logins over the test city and its customers (stores ST-A1..3 in the
    # warehouse, in county A's grid), the store file not yet synced
    load_city_warehouse(tree, tmp_path)
    factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="county_manager")
    assert not Store.objects.exists()

    # When the campaigns demo is built
    said: list[str] = []
    build_campaign_demo(say=said.append)

    # Then the store file was synced first, and county A's campaign was issued to its stores
    # (60% of grid A's treated customers, evenly), dealt to their lists, with outcomes
    campaign = Campaign.objects.get(name=DEMO_STORES)
    assert (campaign.org_unit, campaign.state) == (tree.county_a, CampaignState.RUNNING), said
    shares = _shares(campaign)
    assert set(shares) == {"ST-A1", "ST-A2", "ST-A3"}
    grid_quota = Quota.objects.get(campaign=campaign, store__isnull=True)
    assert sum(a for a, _t in shares.values()) <= grid_quota.audience
    assert max(a for a, _t in shares.values()) - min(a for a, _t in shares.values()) <= 1
    outcomes = TaskOutcome.objects.filter(campaign=campaign)
    assert outcomes.exists()
    assert set(outcomes.values_list("store_id", flat=True)) == {"ST-A1", "ST-A2", "ST-A3"}

    # And a second run changes nothing
    build_campaign_demo(say=said.append)
    assert Campaign.objects.filter(name=DEMO_STORES).count() == 1


def test_the_campaign_page_issues_to_a_store_and_says_why_it_refuses(
    campaign: Campaign, tree: factories.Tree, login: Any
) -> None:
    # Given grid A's manager on the issued campaign's page: the form offers grid A's stores
    client = login(_grid_manager(tree))
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="store-quota-form"' in page
    assert 'value="ST-A1"' in page
    assert 'value="ST-B1"' not in page

    # When they give ST-A1 6 customers, then ST-A2 5
    url = reverse("campaigns:store-quotas", args=[campaign.pk])
    done = client.post(url, {"store": "ST-A1", "audience": "6", "target": "2"})
    refused = client.post(
        url, {"store": "ST-A2", "audience": "5", "target": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    # Then the first is kept, the second refused on the page with the figures
    assert done.status_code == 302
    assert done["Location"].endswith("#store-quotas")
    assert refused.status_code == 200
    assert "Over-allocated" in refused.content.decode()
    assert _shares(campaign) == {"ST-A1": (6, 2)}

    # And an auditor, who works no task list, gets no form and cannot post one
    auditor = login(factories.user(role=Role.AUDITOR, at=tree.province))
    page = auditor.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="store-quota-form"' not in page
    answer = auditor.post(url, {"store": "ST-A2", "audience": "1", "target": "0"})
    assert answer.status_code == 404
    assert _shares(campaign) == {"ST-A1": (6, 2)}


def test_the_command_issues_to_stores_and_refuses_with_the_services_words(
    campaign: Campaign,
) -> None:
    out = io.StringIO()
    call_command(
        "issue-to-stores", str(campaign.pk), "ST-A1=6/2", "ST-A2=4/2", "--deadline",
        "2024-08-15", stdout=out,
    )  # fmt: skip
    assert _shares(campaign) == {"ST-A1": (6, 2), "ST-A2": (4, 2)}
    assert "ST-A1: 6 customers, 2 takers, by 2024-08-15" in out.getvalue()

    with pytest.raises(CommandError, match="Over-allocated"):
        call_command("issue-to-stores", str(campaign.pk), "ST-A3=1/0")
    with pytest.raises(CommandError, match="STORE=CUSTOMERS/TAKERS"):
        call_command("issue-to-stores", str(campaign.pk), "ST-A3:1")
    call_command("issue-to-stores", str(campaign.pk), "ST-A1=0/0", "ST-A2=0/0")
    call_command("issue-to-stores", str(campaign.pk), "--even", "0.5", stdout=io.StringIO())
    assert _shares(campaign) == {"ST-A1": (2, 0), "ST-A2": (2, 0), "ST-A3": (1, 0), "ST-B1": (2, 0)}
