"""Who holds which grid, store or account: synchronisation, a holder change mid-period, store
clerks assigned by hand, the pages and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from quanwang.channels.choices import StoreType
from quanwang.channels.models import Store
from quanwang.core.choices import Role
from quanwang.performance.actuals.attribution import (
    Interval,
    assign_clerk,
    interval_table,
    intervals_for,
    sync_responsibilities,
)
from quanwang.performance.actuals.choices import ResponsibilityKind
from quanwang.performance.choices import Grain
from quanwang.performance.models import Responsibility
from tests import factories


def _store(unit: Any, store_id: str) -> Store:
    return Store.objects.create(
        store_id=store_id,
        name=f"门店{store_id}",
        store_type=StoreType.PARTNER,
        org_unit=unit,
        grid_id=unit.code,
    )


def test_a_changed_grid_holder_closes_the_old_interval_the_day_before(tree: factories.Tree) -> None:
    # given grid CA-1-G1 held by EA since the first sync
    factories.staff(at=tree.grid_a, employee_no="EA")
    factories.staff(at=tree.grid_a, employee_no="EB")
    first = sync_responsibilities(on=dt.date(2024, 1, 1), grid_holders={"CA-1-G1": "EA"})
    assert first.opened == 1
    # when the warehouse names EB from 11 December, and the sync runs twice
    sync_responsibilities(on=dt.date(2024, 12, 11), grid_holders={"CA-1-G1": "EB"})
    again = sync_responsibilities(on=dt.date(2024, 12, 11), grid_holders={"CA-1-G1": "EB"})
    # then EA held it until the 10th, EB from the 11th, and the second sync changed nothing
    assert intervals_for("EA") == [Interval(Grain.ORG_UNIT, "CA-1-G1", None, dt.date(2024, 12, 10))]
    assert intervals_for("EB") == [Interval(Grain.ORG_UNIT, "CA-1-G1", dt.date(2024, 12, 11), None)]
    assert (again.opened, again.closed, again.unchanged) == (0, 0, 1)
    assert intervals_for("EA")[0].holds(dt.date(2024, 12, 10))
    assert not intervals_for("EA")[0].holds(dt.date(2024, 12, 11))
    # and the bulk table holds both, with the staff records' units
    rows = interval_table().to_pylist()
    assert {(r["employee_no"], r["staff_unit"]) for r in rows} == {
        ("EA", "CA-1-G1"),
        ("EB", "CA-1-G1"),
    }


def test_a_grid_managers_login_wins_over_the_warehouse_file(tree: factories.Tree) -> None:
    # given a login holding the grid manager role at CA-1-G1 with a staff record
    login = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    mine = factories.staff(at=tree.grid_a, employee_no="ME")
    mine.user = login
    mine.save()
    factories.staff(at=tree.grid_a, employee_no="FILE")
    # when the sync reads a grid file naming someone else
    sync_responsibilities(
        on=dt.date(2024, 1, 1), grid_holders={"CA-1-G1": "FILE", "CB-1-G1": "FILE"}
    )
    # then the login holds its grid and the file's holder the other one
    assert [i.key for i in intervals_for("ME")] == ["CA-1-G1"]
    assert [i.key for i in intervals_for("FILE")] == ["CB-1-G1"]


def test_a_holder_changed_twice_in_a_day_leaves_no_empty_interval(tree: factories.Tree) -> None:
    # given EA, then EB from 1 March
    for no in ("EA", "EB", "EC"):
        factories.staff(at=tree.grid_a, employee_no=no)
    sync_responsibilities(on=dt.date(2024, 1, 1), grid_holders={"CA-1-G1": "EA"})
    sync_responsibilities(on=dt.date(2024, 3, 1), grid_holders={"CA-1-G1": "EB"})
    # when EC replaces EB the same day
    sync_responsibilities(on=dt.date(2024, 3, 1), grid_holders={"CA-1-G1": "EC"})
    # then EB never held a day and EC holds it from 1 March
    assert intervals_for("EB") == []
    assert intervals_for("EC") == [Interval(Grain.ORG_UNIT, "CA-1-G1", dt.date(2024, 3, 1), None)]


def test_account_managers_come_from_the_account_file(tree: factories.Tree) -> None:
    # given an enterprise account led by EM
    from quanwang.enterprise.models import Account

    lead = factories.staff(at=tree.county_a, employee_no="EM")
    Account.objects.create(
        enterprise_id="ENT1", name="某集团", org_unit=tree.grid_a, account_manager=lead
    )
    # when the holders are synchronised
    sync_responsibilities(on=dt.date(2024, 1, 1), grid_holders={})
    # then EM holds the account
    assert intervals_for("EM") == [Interval(Grain.ACCOUNT, "ENT1", None, None)]


def test_county_manager_assigns_a_store_clerk_once(tree: factories.Tree, login: Any) -> None:
    # given a county manager, a store and a clerk in the county
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    _store(tree.grid_a, "S-A")
    factories.staff(at=tree.grid_a, employee_no="CL1")
    client = login(manager)
    url = reverse("performance:actuals-assign-clerk", args=["CA-1"])
    form = {"store_id": "S-A", "employee_no": "CL1", "start": "2024-12-01"}
    # when the form is submitted twice
    first = client.post(url, form)
    second = client.post(url, form)
    # then one interval is open and the page lists it
    assert first.status_code == second.status_code == 302
    assert (
        Responsibility.objects.filter(kind=ResponsibilityKind.STORE_CLERK, key="S-A").count() == 1
    )
    page = client.get(reverse("performance:actuals-responsibilities", args=["CA-1"]))
    assert page.status_code == 200
    assert b"CL1" in page.content
    # and the clerk leaves on the 20th
    held = Responsibility.objects.get(key="S-A")
    client.post(
        reverse("performance:actuals-end-clerk", args=["CA-1", held.pk]), {"end": "2024-12-20"}
    )
    held.refresh_from_db()
    assert held.end == dt.date(2024, 12, 20)


def test_a_bad_employee_number_is_named_and_nothing_is_created(tree: factories.Tree) -> None:
    # given a county manager and a store
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    _store(tree.grid_a, "S-A")
    # when a clerk is assigned with an unknown employee number
    from quanwang.core.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        assign_clerk(actor=manager, store_id="S-A", employee_no="NOPE", start=dt.date(2024, 12, 1))
    # then the error names the field and nothing was created
    assert refused.value.field == "employee_no"
    assert not Responsibility.objects.exists()


def test_another_countys_manager_gets_404(tree: factories.Tree, login: Any) -> None:
    # given a manager of county B and a store and clerk of county A
    other = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    _store(tree.grid_a, "S-A")
    factories.staff(at=tree.grid_a, employee_no="CL1")
    client = login(other)
    # when they open county A's page or assign its clerk to its store
    page = client.get(reverse("performance:actuals-responsibilities", args=["CA-1"]))
    posted = client.post(
        reverse("performance:actuals-assign-clerk", args=["CB-1"]),
        {"store_id": "S-A", "employee_no": "CL1", "start": "2024-12-01"},
    )
    # then both answer 404 and nothing is created
    assert page.status_code == 404
    assert posted.status_code == 404
    assert not Responsibility.objects.exists()


def test_a_grid_manager_does_not_see_another_grids_holders(
    tree: factories.Tree, login: Any
) -> None:
    # given holders in both grids (numbers a random CSRF token cannot contain: it has no "-")
    factories.staff(at=tree.grid_a, employee_no="E-HOLD-A")
    factories.staff(at=tree.grid_b, employee_no="E-HOLD-B")
    holders = {"CA-1-G1": "E-HOLD-A", "CB-1-G1": "E-HOLD-B"}
    sync_responsibilities(on=dt.date(2024, 1, 1), grid_holders=holders)
    client = login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    # when the grid manager opens their grid's page and the other grid's
    mine = client.get(reverse("performance:actuals-responsibilities", args=["CA-1-G1"]))
    theirs = client.get(reverse("performance:actuals-responsibilities", args=["CB-1-G1"]))
    # then only their own is shown
    assert mine.status_code == 200
    assert b"E-HOLD-A" in mine.content
    assert b"E-HOLD-B" not in mine.content
    assert theirs.status_code == 404


def test_status_page_names_the_business_day(tree: factories.Tree, login: Any) -> None:
    # given published actuals
    from quanwang.performance.actuals import store

    store.publish(
        [], as_of=dt.date(2024, 12, 20), snapshot="2024-12", details={"timings": {"total": 1.5}}
    )
    client = login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    # when the status page is opened
    page = client.get(reverse("performance:actuals-status"))
    # then it names the business day and snapshot
    assert page.status_code == 200
    assert b"2024-12-20" in page.content
    assert b"2024-12" in page.content


def test_cli_compute_actuals_refuses_a_bad_day(db: None) -> None:
    from django.core.management.base import CommandError

    # when the CLI is given a day that is not one
    with pytest.raises(CommandError) as refused:
        call_command("compute-actuals", "--as-of", "2024-13-01")
    # then the error names the option
    assert "--as-of" in str(refused.value)
