"""Partners' issues: raised in a visit or by the partner, moved open → in progress → resolved
with who, when and how, and aged on a fixed clock: days open, buckets, the oldest first."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quanwang.channels.models import PartnerIssue
from quanwang.channels.visits.choices import IssueCategory, IssueSource, IssueStatus
from quanwang.channels.visits.services.issues import (
    AGE_BUCKETS,
    aging,
    bucket_of,
    days_open,
    move_issue,
    raise_issue,
)
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.channels.test_visits_helpers import partner_of, store

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.date(2024, 6, 30)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def _raised(by: Any, shop: Any, days_ago: int, category: str = IssueCategory.LATE_SUPPLY) -> Any:
    return raise_issue(
        user=by, store_pk=shop.pk, category=IssueCategory(category), description="缺货",
        idempotency_key=uuid.uuid4(), now=_at(TODAY - dt.timedelta(days=days_ago)),
    )  # fmt: skip


def test_issues_are_aged_on_a_fixed_clock_oldest_first_in_buckets(tree: factories.Tree) -> None:
    # Given issues raised 0, 7, 8, 30, 31, 90 and 91 days before the 30th, one resolved
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    raised = {days: _raised(manager, shop, days) for days in (7, 0, 91, 8, 30, 90, 31)}
    done = _raised(manager, shop, 200)
    move_issue(
        user=manager, issue_pk=done.pk, to=IssueStatus.RESOLVED, resolution="已补货",
        now=_at(TODAY - dt.timedelta(days=150)),
    )  # fmt: skip

    # When the aging list is read on the 30th
    report = aging(user=manager, today=TODAY)

    # Then the unresolved come oldest first with their days open, each in its bucket
    assert [(r.issue.pk, r.days_open) for r in report.rows] == [
        (raised[d].pk, d) for d in (91, 90, 31, 30, 8, 7, 0)
    ]
    assert [str(r.bucket.label) for r in report.rows] == [
        "Over 90 days", "31 to 90 days", "31 to 90 days", "8 to 30 days", "8 to 30 days",
        "Up to a week", "Up to a week",
    ]  # fmt: skip
    assert [b.issues for b in report.buckets] == [2, 2, 2, 1]
    # and the resolved one counts its days up to the day it was resolved
    done.refresh_from_db()
    assert days_open(done, today=TODAY) == 50


def test_days_open_count_local_days(tree: factories.Tree) -> None:
    # An issue raised late on the 29th (Shanghai time) is one day old on the 30th
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    issue = raise_issue(
        user=manager, store_pk=store(tree.grid_a).pk, category=IssueCategory.OTHER,
        description="x", idempotency_key=uuid.uuid4(), now=_at(dt.date(2024, 6, 29), 23),
    )  # fmt: skip
    assert days_open(issue, today=TODAY) == 1


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_an_older_issue_is_never_in_a_younger_bucket(first: int, second: int) -> None:
    younger, older = sorted((first, second))
    assert AGE_BUCKETS.index(bucket_of(younger)) <= AGE_BUCKETS.index(bucket_of(older))
    bucket = bucket_of(older)
    assert bucket.up_to is None or older <= bucket.up_to


def test_an_issue_is_taken_up_then_resolved_with_who_when_and_how(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    issue = _raised(manager, store(tree.grid_a), 10)

    started = move_issue(
        user=manager, issue_pk=issue.pk, to=IssueStatus.IN_PROGRESS, now=_at(TODAY, 9)
    )
    assert (started.status, started.started_by, started.started_at) == (
        IssueStatus.IN_PROGRESS, manager, _at(TODAY, 9),
    )  # fmt: skip
    with pytest.raises(ServiceError, match="how") as refused:
        move_issue(user=county, issue_pk=issue.pk, to=IssueStatus.RESOLVED)
    assert refused.value.field == "resolution"
    resolved = move_issue(
        user=county, issue_pk=issue.pk, to=IssueStatus.RESOLVED, resolution="已协调补货",
        now=_at(TODAY, 15),
    )  # fmt: skip
    assert (resolved.status, resolved.resolved_by, resolved.resolution) == (
        IssueStatus.RESOLVED, county, "已协调补货",
    )  # fmt: skip
    assert days_open(resolved, today=TODAY + dt.timedelta(days=30)) == 10
    assert not aging(user=manager, today=TODAY).rows


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (IssueStatus.RESOLVED, IssueStatus.IN_PROGRESS),
        (IssueStatus.RESOLVED, IssueStatus.OPEN),
        (IssueStatus.IN_PROGRESS, IssueStatus.OPEN),
        (IssueStatus.IN_PROGRESS, IssueStatus.IN_PROGRESS),
    ],
)
def test_an_issue_does_not_move_backwards(
    tree: factories.Tree, start: IssueStatus, to: IssueStatus
) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    issue = _raised(manager, store(tree.grid_a), 3)
    if start == IssueStatus.IN_PROGRESS:
        move_issue(user=manager, issue_pk=issue.pk, to=IssueStatus.IN_PROGRESS)
    else:
        move_issue(user=manager, issue_pk=issue.pk, to=IssueStatus.RESOLVED, resolution="ok")
    with pytest.raises(ServiceError, match="cannot become"):
        move_issue(user=manager, issue_pk=issue.pk, to=to, resolution="again")
    issue.refresh_from_db()
    assert issue.status == start


def test_a_partner_raises_an_issue_once_per_form_and_cannot_move_it(
    tree: factories.Tree, login: Any
) -> None:
    # Given a partner of a store
    shop = store(tree.grid_a)
    partner = partner_of(shop)
    client = login(partner)
    form = {
        "idempotency_key": str(uuid.uuid4()),
        "category": IssueCategory.OPAQUE_APPRAISAL,
        "description": "酬金扣减看不懂",
    }

    # When they raise an issue from their page, and the form is sent again
    first = client.post(f"/partner/stores/{shop.pk}/issues/new/", form)
    second = client.post(f"/partner/stores/{shop.pk}/issues/new/", form)

    # Then one issue is raised, by the partner, and both lead back to the store's page
    issue = PartnerIssue.objects.get()
    assert (issue.source, issue.raised_by, issue.store) == (IssueSource.PARTNER, partner, shop)
    assert first["Location"] == second["Location"] == f"/partner/stores/{shop.pk}/"
    # and the partner cannot move it on
    moved = client.post(
        f"/visits/issues/{issue.pk}/move/", {"to": IssueStatus.RESOLVED, "resolution": "x"}
    )
    assert moved.status_code == 404
    with pytest.raises(NotFound):
        move_issue(user=partner, issue_pk=issue.pk, to=IssueStatus.IN_PROGRESS)
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_managers_see_the_aging_list_and_move_an_issue_from_its_page(
    tree: factories.Tree, login: Any
) -> None:
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    old = _raised(manager, store(tree.grid_a), 40, IssueCategory.PROMISE_NOT_KEPT)
    new = _raised(manager, store(tree.grid_a), 2, IssueCategory.CHANGING_RULES)
    foreign = _raised(factories.user(role=Role.GRID_MANAGER, at=tree.grid_b), store(tree.grid_b), 5)
    client = login(manager)
    text = client.get("/visits/issues/").content.decode()
    assert text.index(f"issue-{old.pk}") < text.index(f"issue-{new.pk}")
    assert f"issue-{foreign.pk}" not in text
    assert client.get(f"/visits/issues/{foreign.pk}/").status_code == 404
    answer = client.post(f"/visits/issues/{new.pk}/move/", {"to": IssueStatus.IN_PROGRESS})
    assert answer["Location"] == f"/visits/issues/{new.pk}/"
    new.refresh_from_db()
    assert (new.status, new.started_by) == (IssueStatus.IN_PROGRESS, manager)
    assert client.get(f"/visits/issues/{new.pk}/").status_code == 200
    resolved = client.get("/visits/issues/?resolved=on").content.decode()
    assert f"issue-{old.pk}" not in resolved
