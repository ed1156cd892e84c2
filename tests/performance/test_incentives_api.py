"""The incentives API: a month's statements in reach with their lines, another scope's
statement 404, a bad month 422 naming the field, approving twice approves once, and nobody
approves what they computed or their own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from quanwang.core.services.tokens import create_token
from quanwang.performance.incentives.choices import StatementStatus
from quanwang.performance.incentives.services import statements
from quanwang.performance.models import IncentiveStatement
from tests.performance import test_incentives_world as world

pytestmark = pytest.mark.django_db

URL = "/api/v1/performance/incentives/statements"


def _auth(user: Any) -> dict[str, str]:
    _token, secret = create_token(user=user, name="api")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def paid(tree: Any) -> world.World:
    """December computed: city A's two managers by the marketer, city B's by the admin."""
    w = world.build(tree)
    world.actuals(world.december())
    statements.run_month(actor=w.marketer, month="2024-12")
    statements.run_month(actor=w.admin, month="2024-12")
    return w


def _pk(staff: Any) -> int:
    return IncentiveStatement.objects.get(staff=staff, month="2024-12").pk


def test_a_month_lists_what_is_in_reach_and_a_statement_shows_its_lines(
    paid: world.World, client: Client
) -> None:
    # given the city A approver; when they list December
    listed = client.get(URL, {"month": "2024-12"}, **_auth(paid.approver))
    # then they see city A's two managers only, each naming the actuals it was read from
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["employee_no"] for r in rows] == ["EA1", "EA2"]
    assert all(r["actuals_version"] and r["status"] == "computed" for r in rows)
    # and without a month, the newest month is listed
    assert client.get(URL, **_auth(paid.approver)).json() == rows
    # when one statement is read; then its lines add up to its total, as exact text
    one = client.get(f"{URL}/{_pk(paid.staff_a1)}", **_auth(paid.approver)).json()
    assert one["total"] == "230.00"
    assert [line["kind"] for line in one["lines"]] == ["piece", "team"]
    assert sum(Decimal(line["amount"]) for line in one["lines"]) == Decimal(one["total"])
    assert one["lines"][0]["kpi"] == "new_5g_plans"


def test_a_grid_manager_reads_their_own_statement_only(paid: world.World, client: Client) -> None:
    # given manager a1 (Reach.OWN); when they list December and read statements
    auth = _auth(paid.manager_a1)
    rows = client.get(URL, {"month": "2024-12"}, **auth).json()
    own = client.get(f"{URL}/{_pk(paid.staff_a1)}", **auth)
    colleague = client.get(f"{URL}/{_pk(paid.staff_a2)}", **auth)
    # then only their own is there; a colleague's in the same grid is not found
    assert [r["employee_no"] for r in rows] == ["EA1"]
    assert own.status_code == 200
    assert colleague.status_code == 404
    # and they cannot approve at all (not even their own): not found
    assert client.post(f"{URL}/{_pk(paid.staff_a1)}/approve", **auth).status_code == 404
    assert IncentiveStatement.objects.get(pk=_pk(paid.staff_a1)).status == "computed"


def test_another_citys_statement_is_not_found(paid: world.World, client: Client) -> None:
    # given city B's statement; when city A's approver reads or approves it
    theirs = _pk(paid.staff_b)
    auth = _auth(paid.approver)
    read = client.get(f"{URL}/{theirs}", **auth)
    approve = client.post(f"{URL}/{theirs}/approve", **auth)
    missing = client.get(f"{URL}/999999", **auth)
    # then both answer 404 like a statement that does not exist, and nothing is approved
    assert (read.status_code, approve.status_code, missing.status_code) == (404, 404, 404)
    assert read.json() == missing.json()
    assert IncentiveStatement.objects.get(pk=theirs).status == StatementStatus.COMPUTED


@pytest.mark.parametrize("month", ["2024-13", "2024Q4", "december"])
def test_a_bad_month_is_refused_naming_the_field(
    paid: world.World, client: Client, month: str
) -> None:
    answer = client.get(URL, {"month": month}, **_auth(paid.approver))
    assert answer.status_code == 422
    assert answer.json()["field"] == "month"
    assert answer.json()["detail"]


def test_approving_twice_approves_once_and_never_ones_own_work(
    paid: world.World, client: Client
) -> None:
    # given a1's computed statement
    pk = _pk(paid.staff_a1)
    auth = _auth(paid.approver)
    # when the approver posts the approval twice (a double submit)
    first = client.post(f"{URL}/{pk}/approve", **auth)
    again = client.post(f"{URL}/{pk}/approve", **auth)
    # then both answer the approved statement, approved once (the same moment and approver)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "approved"
    assert first.json()["approved_at"] == again.json()["approved_at"]
    assert IncentiveStatement.objects.filter(status=StatementStatus.APPROVED).count() == 1
    # when the marketer who computed a2's statement approves it; then it is refused (422)
    refused = client.post(f"{URL}/{_pk(paid.staff_a2)}/approve", **_auth(paid.marketer))
    assert refused.status_code == 422
    assert refused.json()["detail"]
    assert IncentiveStatement.objects.get(pk=_pk(paid.staff_a2)).status == "computed"


def test_without_a_token_nothing_is_read(paid: world.World, client: Client) -> None:
    assert client.get(URL, {"month": "2024-12"}).status_code == 401
