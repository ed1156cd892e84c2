"""A partner store's login (Role.CHANNEL_PARTNER, CAMPAIGN_TASK with Reach.OWN) sees and works
the task list of its own stores (Store.partners), and nothing else."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.tasks import TaskFilters, record_task, task_list
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.campaigns.channel_support import campaign_of_files, store, task_plan
from tests.campaigns.conftest import load_city_warehouse

A1 = [f"S{i:03d}" for i in range(0, 4)]  # ST-A1's customers
A2 = [f"S{i:03d}" for i in range(4, 8)]  # ST-A2's
GRID_ONLY = [f"S{i:03d}" for i in range(8, 12)]  # grid A's own, no store


@pytest.fixture
def tasks(tree: factories.Tree, tmp_path: Path) -> Campaign:
    """A running province campaign whose task step put S000-S003 on ST-A1's list, S004-S007
    on ST-A2's and S008-S011 on grid A's own; the city's customers in the warehouse."""
    load_city_warehouse(tree, tmp_path)
    a = tree.grid_a
    campaign = campaign_of_files(
        org_unit=tree.province, audience=[(s, a.code, False) for s in A1 + A2 + GRID_ONLY]
    )
    task_plan(
        campaign,
        [(s, a.code, "ST-A1") for s in A1]
        + [(s, a.code, "ST-A2") for s in A2]
        + [(s, a.code, None) for s in GRID_ONLY],
    )
    store("ST-A1", grid=a)
    store("ST-A2", grid=a)
    return campaign


def _partner(tree: factories.Tree, *codes: str) -> Any:
    from quanwang.channels.models import Store

    login = factories.user(role=Role.CHANNEL_PARTNER, at=tree.grid_a)
    for code in codes:
        Store.objects.get(store_id=code).partners.add(login)
    return login


def test_a_partner_lists_only_its_own_stores_tasks(tasks: Campaign, tree: factories.Tree) -> None:
    # Given ST-A1's partner login, and a grid manager of the same grid
    partner = _partner(tree, "ST-A1")
    grid_manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # Then the partner sees ST-A1's four tasks, the grid manager all twelve
    mine = task_list(user=partner, page_size=100)
    assert sorted(r.subscriber_id for r in mine.rows) == A1
    assert {r.store_id for r in mine.rows} == {"ST-A1"}
    assert task_list(user=grid_manager, page_size=100).total == 12

    # And asking for another store's tasks gives none
    assert task_list(user=partner, filters=TaskFilters(store="ST-A2")).total == 0


def test_a_partner_records_its_own_tasks_and_not_another_stores(
    tasks: Campaign, tree: factories.Tree
) -> None:
    partner = _partner(tree, "ST-A1")
    other = _partner(tree, "ST-A2")

    # When ST-A1's partner records an acceptance on its own customer
    outcome = record_task(
        actor=partner, campaign_id=tasks.pk, subscriber_id=A1[0],
        outcome=ContactOutcome.ACCEPTED, note="到店办理",
    )  # fmt: skip

    # Then it is kept with the store, and only that store's logins read it back
    assert (outcome.store_id, outcome.org_unit_id) == ("ST-A1", tree.grid_a.pk)
    assert list(TaskOutcome.objects.restrict(partner).values_list("subscriber_id", flat=True)) == [
        A1[0]
    ]
    assert not TaskOutcome.objects.restrict(other).exists()

    # And ST-A2's customer, or a customer on the grid's own list, is refused by name
    for customer in (A2[0], GRID_ONLY[0]):
        with pytest.raises(ServiceError, match="not on your stores' task lists"):
            record_task(
                actor=partner, campaign_id=tasks.pk, subscriber_id=customer,
                outcome=ContactOutcome.CONTACTED, note="",
            )  # fmt: skip
    assert TaskOutcome.objects.count() == 1


def test_a_partner_without_a_store_has_no_task_list(tasks: Campaign, tree: factories.Tree) -> None:
    loner = _partner(tree)
    assert task_list(user=loner).total == 0
    with pytest.raises(NotFound):
        record_task(
            actor=loner, campaign_id=tasks.pk, subscriber_id=A1[0],
            outcome=ContactOutcome.CONTACTED, note="",
        )  # fmt: skip


def test_the_partners_pages_show_its_tasks_and_nothing_else(
    tasks: Campaign, tree: factories.Tree, login: Any
) -> None:
    client = login(_partner(tree, "ST-A1"))

    # The task list lists ST-A1's customers only
    page = client.get(reverse("campaigns:tasks")).content.decode()
    assert all(f"task-{tasks.pk}-{s}" in page for s in A1)
    assert not any(f"task-{tasks.pk}-{s}" in page for s in A2 + GRID_ONLY)

    # Recording on ST-A2's customer through the page is refused, and nothing is kept
    answer = client.post(
        reverse("campaigns:task-record"),
        {"campaign": tasks.pk, "subscriber_id": A2[0], "outcome": "accepted", "note": ""},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 422
    assert not TaskOutcome.objects.exists()

    # The download of its store's list holds its own tasks only; of the other store's, none
    download = client.get(reverse("campaigns:tasks-xlsx"), {"store": "ST-A1"})
    sheet = load_workbook(io.BytesIO(download.content)).active
    listed = {str(c.value) for row in sheet.iter_rows() for c in row if c.value}
    assert set(A1) <= listed
    assert not set(A2 + GRID_ONLY) & listed
    download = client.get(reverse("campaigns:tasks-xlsx"), {"store": "ST-A2"})
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert not {str(c.value) for row in sheet.iter_rows() for c in row} & set(A2)

    # The campaign itself, its evaluation and its store quota form are not the partner's
    assert client.get(reverse("campaigns:detail", args=[tasks.pk])).status_code == 404
    assert client.post(reverse("campaigns:store-quotas", args=[tasks.pk])).status_code == 404
