"""Grid and store task lists (任务清单): a task step's plan is the list, outcomes close the loop."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openpyxl import load_workbook

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.services import (
    evaluation_table,
    execution_progress,
    transition,
)
from quanwang.campaigns.tasks import TaskFilters, TaskState, record_outcome, task_list
from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TEN_AM,
    TODAY,
    approved,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)

AN_HOUR_LATER = TEN_AM + dt.timedelta(hours=1)


def _issued(tree: factories.Tree) -> tuple[Any, Campaign]:
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    return designer, campaign


def _audience(campaign: Campaign, *, grid: str, control: bool) -> list[str]:
    return [
        row[0]
        for row in duckdb.execute(
            f"SELECT subscriber_id FROM read_parquet('{campaign.audience_path}') "
            "WHERE grid_id = ? AND in_control = ? ORDER BY 1",
            [grid, control],
        ).fetchall()
    ]


@pytest.fixture
def tasked(tree: factories.Tree, city: Snapshot, tmp_path: Path) -> tuple[Any, Campaign]:
    """An issued campaign whose first step (t1) went to the task lists at 10:00."""
    load_city_warehouse(tree, tmp_path)
    designer, campaign = _issued(tree)
    dispatch_tasks(designer, campaign)
    return designer, campaign


def _grid_manager(tree: factories.Tree, grid: Any) -> Any:
    return factories.user(role=Role.GRID_MANAGER, at=grid)


def test_a_task_step_lists_a_grids_treated_customers_masked_with_their_deadline(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given an issued campaign and its customers in the warehouse
    load_city_warehouse(tree, tmp_path)
    designer, campaign = _issued(tree)

    # When a task step is dispatched
    result = dispatch_tasks(designer, campaign)

    # Then grid A's manager sees exactly grid A's treated customers, masked, with the deadline,
    # and nothing was sent to any gateway
    page = task_list(user=_grid_manager(tree, tree.grid_a), page_size=500)
    treated_a = _audience(campaign, grid=tree.grid_a.code, control=False)
    assert sorted(r.subscriber_id for r in page.rows) == treated_a
    first = next(r for r in page.rows if r.subscriber_id == "S000")
    assert (first.msisdn, first.name) == ("138****0000", "王*")
    assert {r.deadline for r in page.rows} == {campaign.ends_on}
    assert page.counts[TaskState.NOT_RECORDED] == len(treated_a)
    assert result["tasks"] == result["planned"]
    assert result["sent"] == 0
    assert not list(Path(campaign.audience_path).parent.glob("dispatch/*/batch-*.parquet"))


def test_a_grids_customers_are_dealt_evenly_over_its_stores_and_none_without_stores(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given the task lists of grid A (three stores) and grid B (none)
    page = task_list(user=None, page_size=500)

    # Then each store of A has its share (±1) and B's customers have no store
    by_store = Counter(r.store_id for r in page.rows if r.grid_id == tree.grid_a.code)
    assert set(by_store) == {"ST-A1", "ST-A2", "ST-A3"}
    assert max(by_store.values()) - min(by_store.values()) <= 1
    assert {r.store_id for r in page.rows if r.grid_id == tree.grid_b.code} == {None}


def test_a_store_filter_shows_only_that_stores_share(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    everyone = task_list(user=None, page_size=500)

    page = task_list(user=None, filters=TaskFilters(store="ST-A2"), page_size=500)

    expected = sorted(r.subscriber_id for r in everyone.rows if r.store_id == "ST-A2")
    assert sorted(r.subscriber_id for r in page.rows) == expected
    assert 0 < page.total < everyone.total


def test_the_control_group_is_never_on_a_task_list(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    _designer, campaign = tasked
    control = set(_audience(campaign, grid=tree.grid_a.code, control=True))
    control |= set(_audience(campaign, grid=tree.grid_b.code, control=True))

    page = task_list(user=None, page_size=500)

    assert control
    assert control.isdisjoint(r.subscriber_id for r in page.rows)


def test_a_control_customer_cannot_be_recorded(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    _designer, campaign = tasked
    held_out = _audience(campaign, grid=tree.grid_a.code, control=True)[0]

    with pytest.raises(ServiceError, match="not on this campaign's task list") as caught:
        record_outcome(
            actor=_grid_manager(tree, tree.grid_a), campaign=campaign, subscriber_id=held_out,
            outcome=ContactOutcome.CONTACTED, at=AN_HOUR_LATER,
        )  # fmt: skip
    assert caught.value.field == "subscriber_id"


def test_a_grid_manager_does_not_see_another_grids_tasks(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    manager_a = _grid_manager(tree, tree.grid_a)

    page = task_list(user=manager_a, page_size=500)

    assert page.rows
    assert {r.grid_id for r in page.rows} == {tree.grid_a.code}
    with pytest.raises(ServiceError, match="not one of your grids") as caught:
        task_list(user=manager_a, filters=TaskFilters(grid=tree.grid_b.code))
    assert caught.value.field == "grid"


def test_a_grid_manager_cannot_record_another_grids_customer(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    _designer, campaign = tasked
    customer_b = _audience(campaign, grid=tree.grid_b.code, control=False)[0]

    with pytest.raises(ServiceError, match="grid whose tasks you may not record") as caught:
        record_outcome(
            actor=_grid_manager(tree, tree.grid_a), campaign=campaign, subscriber_id=customer_b,
            outcome=ContactOutcome.ACCEPTED, at=AN_HOUR_LATER,
        )  # fmt: skip
    assert caught.value.field == "subscriber_id"
    assert not TaskOutcome.objects.exists()


def test_the_latest_outcome_wins_and_every_recording_is_an_attempt(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    _designer, campaign = tasked
    manager = _grid_manager(tree, tree.grid_a)
    customer = _audience(campaign, grid=tree.grid_a.code, control=False)[0]
    for outcome, at in (
        (ContactOutcome.UNREACHABLE, AN_HOUR_LATER),
        (ContactOutcome.ACCEPTED, AN_HOUR_LATER + dt.timedelta(days=1)),
        (ContactOutcome.REFUSED, AN_HOUR_LATER + dt.timedelta(hours=2)),  # entered late
    ):
        record_outcome(
            actor=manager, campaign=campaign, subscriber_id=customer, outcome=outcome, at=at
        )

    [row] = TaskOutcome.objects.all()

    assert (row.outcome, row.attempts) == (ContactOutcome.ACCEPTED, 3)
    assert row.org_unit == tree.grid_a
    assert row.store_id.startswith("ST-A")


def test_recorded_outcomes_count_as_contacted_and_accepted_as_responded(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given four of grid A's customers with each outcome recorded
    _designer, campaign = tasked
    manager = _grid_manager(tree, tree.grid_a)
    customers = _audience(campaign, grid=tree.grid_a.code, control=False)[:4]
    outcomes = dict(zip(customers, ContactOutcome, strict=False))
    for customer, outcome in outcomes.items():
        record_outcome(
            actor=manager, campaign=campaign, subscriber_id=customer, outcome=outcome,
            at=AN_HOUR_LATER,
        )  # fmt: skip

    # When the campaign's evaluation table and progress are read
    table = {r["subscriber_id"]: r for r in evaluation_table(campaign=campaign).to_pylist()}
    progress = {p.unit.code: p for p in execution_progress(campaign=campaign, today=TODAY)}

    # Then contacted, accepted and refused count as contacted (by task), only accepted
    # responded, and unreachable is neither
    reached = {ContactOutcome.CONTACTED, ContactOutcome.ACCEPTED, ContactOutcome.REFUSED}
    for customer, outcome in outcomes.items():
        row = table[customer]
        assert row["contacted"] is (outcome in reached), outcome
        assert row["responded"] is (outcome == ContactOutcome.ACCEPTED), outcome
        assert row["channel"] == ("task" if outcome in reached else None)
    assert (progress[tree.grid_a.code].contacted, progress[tree.grid_a.code].responders) == (3, 1)


def test_a_refusal_on_a_task_cools_the_customer_off_for_a_later_step(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given a customer who refused the grid manager's visit
    designer, campaign = tasked
    customer = _audience(campaign, grid=tree.grid_a.code, control=False)[0]
    record_outcome(
        actor=_grid_manager(tree, tree.grid_a), campaign=campaign, subscriber_id=customer,
        outcome=ContactOutcome.REFUSED, at=AN_HOUR_LATER,
    )  # fmt: skip

    # When a second task step goes out the next day
    result = dispatch_tasks(designer, campaign, step="t2", at=TEN_AM + dt.timedelta(days=1))

    # Then the policy holds them back for the cool-off, and only them besides the control
    assert result["excluded"]["cool_off"] == 1
    assert set(result["excluded"]) == {"control_group", "cool_off"}
    plan = Path(campaign.audience_path).parent / "dispatch" / "t2" / "plan.parquet"
    ids = {r[0] for r in duckdb.sql(f"SELECT subscriber_id FROM '{plan}'").fetchall()}
    assert customer not in ids


def test_a_customer_without_call_consent_is_not_given_to_the_grid(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given customers in the warehouse with no record of call consent
    load_city_warehouse(tree, tmp_path, consent_call=None)
    designer, campaign = _issued(tree)

    # When a task step is dispatched
    result = dispatch_tasks(designer, campaign)

    # Then nobody is put on a task list: a task needs the consent to marketing calls
    assert result["tasks"] == 0
    assert set(result["excluded"]) == {"control_group", "no_consent"}


def test_a_closed_campaign_takes_no_more_outcomes(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    designer, campaign = tasked
    customer = _audience(campaign, grid=tree.grid_a.code, control=False)[0]
    for move in ("start", "close"):
        campaign = transition(actor=designer, campaign=campaign, move=move)

    with pytest.raises(ServiceError, match="recorded only while it is issued or running") as caught:
        record_outcome(
            actor=_grid_manager(tree, tree.grid_a), campaign=campaign, subscriber_id=customer,
            outcome=ContactOutcome.ACCEPTED, at=AN_HOUR_LATER,
        )  # fmt: skip
    assert caught.value.field == "campaign"


def test_a_closed_campaign_leaves_the_task_lists(
    tasked: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    designer, campaign = tasked
    for move in ("start", "close"):
        transition(actor=designer, campaign=campaign, move=move)

    assert task_list(user=_grid_manager(tree, tree.grid_a)).total == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"note": "x" * 201}, "note"),
        ({"at": dt.datetime(2024, 7, 2, 11, 0)}, "at"),  # no time zone
        ({"subscriber_id": "NOBODY"}, "subscriber_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    tasked: tuple[Any, Campaign], tree: factories.Tree, changes: dict[str, Any], field: str
) -> None:
    _designer, campaign = tasked
    arguments: dict[str, Any] = {
        "subscriber_id": _audience(campaign, grid=tree.grid_a.code, control=False)[0],
        "outcome": ContactOutcome.CONTACTED,
        "note": "",
        "at": AN_HOUR_LATER,
    } | changes

    with pytest.raises(ServiceError) as caught:
        record_outcome(actor=_grid_manager(tree, tree.grid_a), campaign=campaign, **arguments)

    assert caught.value.field == field


def test_the_task_list_page_records_an_outcome_and_returns_to_the_same_filters(
    tasked: tuple[Any, Campaign], tree: factories.Tree, client: Any
) -> None:
    # Given grid A's manager on the task list, showing what is not yet recorded
    _designer, campaign = tasked
    client.force_login(_grid_manager(tree, tree.grid_a))
    customer = _audience(campaign, grid=tree.grid_a.code, control=False)[0]
    filters = f"grid={tree.grid_a.code}&outcome=not_recorded"
    page = client.get(f"/campaigns/tasks/?{filters}")
    assert page.status_code == 200
    assert f'id="task-{campaign.pk}-{customer}"' in page.content.decode()

    # When they record an acceptance from the page
    answer = client.post(
        "/campaigns/tasks/record/",
        {"campaign": campaign.pk, "subscriber_id": customer, "outcome": "accepted",
         "note": "办理续约", "back": filters},
    )  # fmt: skip

    # Then it is stored, and they are back on the same filters, where the customer is gone
    assert answer.status_code == 302
    assert answer["Location"] == f"/campaigns/tasks/?grid={tree.grid_a.code}&outcome=not_recorded"
    assert TaskOutcome.objects.get().outcome == ContactOutcome.ACCEPTED
    after = client.get(answer["Location"])
    assert f'id="task-{campaign.pk}-{customer}"' not in after.content.decode()
    assert after.context["result"].counts[TaskState.ACCEPTED] == 1


def test_the_task_list_is_in_the_navigation_of_a_grid_manager(
    tasked: tuple[Any, Campaign], tree: factories.Tree, client: Any
) -> None:
    client.force_login(_grid_manager(tree, tree.grid_a))

    home = client.get("/").content.decode()

    assert 'href="/campaigns/tasks/"' in home


def test_an_agency_has_no_task_list(
    tasked: tuple[Any, Campaign], tree: factories.Tree, client: Any
) -> None:
    client.force_login(factories.user(role=Role.AGENCY, at=tree.province))

    assert client.get("/campaigns/tasks/").status_code == 404


def test_a_grids_task_list_downloads_as_a_workbook_with_notes_kept_as_text(
    tasked: tuple[Any, Campaign], tree: factories.Tree, client: Any
) -> None:
    # Given a note that looks like a formula
    _designer, campaign = tasked
    manager = _grid_manager(tree, tree.grid_a)
    customer = _audience(campaign, grid=tree.grid_a.code, control=False)[0]
    record_outcome(
        actor=manager, campaign=campaign, subscriber_id=customer,
        outcome=ContactOutcome.CONTACTED, note="=1+1", at=AN_HOUR_LATER,
    )  # fmt: skip
    client.force_login(manager)

    # When grid A's list is downloaded
    answer = client.get(
        f"/campaigns/tasks/tasks.xlsx?grid={tree.grid_a.code}", HTTP_ACCEPT_LANGUAGE="en"
    )

    # Then it opens with one row per task, numbers masked, the note as quoted text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert len(rows) - 1 == len(_audience(campaign, grid=tree.grid_a.code, control=False))
    mine = next(r for r in rows[1:] if r[header.index("Subscriber ID")] == customer)
    assert mine[header.index("Note")] == "'=1+1"
    assert "****" in mine[header.index("Number")]
