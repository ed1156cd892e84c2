"""Commitments made in visits, tracked to closure: open → kept, broken or dropped with who and
when; closing is final, overdue ones come first, and another scope's are not found."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from quanwang.channels.models import Commitment
from quanwang.channels.visits.choices import CommitmentSide, CommitmentStatus
from quanwang.channels.visits.services.commitments import (
    close_commitment,
    commitment_counts,
    is_overdue,
    open_commitments,
)
from quanwang.channels.visits.services.visit_log import CommitmentInput
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.channels.test_visits_helpers import logged, store

VISIT_DAY = dt.date(2024, 6, 3)
NOON = dt.datetime(2024, 6, 3, 4, 0, tzinfo=dt.UTC)
CLOSING = dt.datetime(2024, 6, 20, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2024, 6, 20)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def _promised(by: Any, shop: Any, *due: dt.date) -> list[Commitment]:
    visit = logged(
        by,
        shop,
        VISIT_DAY,
        now=NOON,
        commitments=[CommitmentInput(CommitmentSide.PARTNER, f"承诺{d}", d) for d in due],
    )
    return list(visit.commitments.order_by("due_on"))


def test_a_commitment_is_kept_by_whom_and_when(tree: factories.Tree) -> None:
    # Given a partner's commitment made in a grid manager's visit
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    [promise] = _promised(manager, store(tree.grid_a), dt.date(2024, 6, 17))
    assert promise.status == CommitmentStatus.OPEN

    # When the manager closes it as kept
    close_commitment(
        user=manager, commitment_pk=promise.pk, outcome=CommitmentStatus.KEPT, now=CLOSING
    )

    # Then it is kept, by them, at that moment
    promise.refresh_from_db()
    assert (promise.status, promise.closed_by, promise.closed_at) == (
        CommitmentStatus.KEPT, manager, CLOSING,
    )  # fmt: skip
    assert not is_overdue(promise, today=TODAY)


def test_a_closed_commitment_stays_as_it_was_closed(tree: factories.Tree) -> None:
    # Given a commitment a county manager closed as broken
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    [promise] = _promised(manager, store(tree.grid_a), dt.date(2024, 6, 17))
    close_commitment(
        user=county, commitment_pk=promise.pk, outcome=CommitmentStatus.BROKEN, now=CLOSING
    )

    # When the grid manager, a moment later (or a second click), closes it as kept
    with pytest.raises(ServiceError, match="already closed"):
        close_commitment(user=manager, commitment_pk=promise.pk, outcome=CommitmentStatus.KEPT)

    # Then it is still broken, closed by the county manager
    promise.refresh_from_db()
    assert (promise.status, promise.closed_by) == (CommitmentStatus.BROKEN, county)


def test_dropping_a_commitment_needs_a_reason(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    [promise] = _promised(manager, store(tree.grid_a), dt.date(2024, 6, 17))
    with pytest.raises(ServiceError, match="why") as refused:
        close_commitment(user=manager, commitment_pk=promise.pk, outcome=CommitmentStatus.DROPPED)
    assert refused.value.field == "note"
    close_commitment(
        user=manager, commitment_pk=promise.pk, outcome=CommitmentStatus.DROPPED,
        note="门店改做批发，不再适用",
    )  # fmt: skip
    promise.refresh_from_db()
    assert (promise.status, promise.closing_note) == (
        CommitmentStatus.DROPPED,
        "门店改做批发，不再适用",
    )


def test_a_commitment_cannot_be_reopened(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    [promise] = _promised(manager, store(tree.grid_a), dt.date(2024, 6, 17))
    with pytest.raises(ServiceError) as refused:
        close_commitment(user=manager, commitment_pk=promise.pk, outcome=CommitmentStatus.OPEN)
    assert refused.value.field == "outcome"


def test_open_commitments_come_overdue_first_and_are_counted(tree: factories.Tree) -> None:
    # Given commitments due before the 20th, on the 20th and later, and one kept
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    late, kept, due_today, later = _promised(
        manager, store(tree.grid_a),
        dt.date(2024, 6, 10), dt.date(2024, 6, 19), TODAY, dt.date(2024, 7, 1),
    )  # fmt: skip
    close_commitment(user=manager, commitment_pk=kept.pk, outcome=CommitmentStatus.KEPT)

    # When the open ones are listed on the 20th
    found = list(open_commitments(user=manager, today=TODAY))

    # Then the overdue come first, and only those past their day are overdue
    assert found == [late, due_today, later]
    assert [is_overdue(c, today=TODAY) for c in found] == [True, False, False]
    counts = commitment_counts(user=manager, today=TODAY)
    assert (counts.open, counts.overdue, counts.kept) == (3, 1, 1)


def test_another_scopes_commitment_is_not_found(tree: factories.Tree, login: Any) -> None:
    # Given a commitment of a grid B store, and grid A's manager
    owner = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)
    [promise] = _promised(owner, store(tree.grid_b), dt.date(2024, 6, 17))
    outsider = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When grid A's manager closes it, through the page or the service
    answer = login(outsider).post(
        f"/visits/commitments/{promise.pk}/close/", {"outcome": CommitmentStatus.KEPT}
    )
    with pytest.raises(NotFound):
        close_commitment(user=outsider, commitment_pk=promise.pk, outcome=CommitmentStatus.KEPT)

    # Then it is not found, and stays open; nor is it on their list
    assert answer.status_code == 404
    promise.refresh_from_db()
    assert promise.status == CommitmentStatus.OPEN
    assert not open_commitments(user=outsider, today=TODAY).exists()


def test_closing_from_the_page_goes_back_where_it_was_asked(
    tree: factories.Tree, login: Any
) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    [promise] = _promised(manager, store(tree.grid_a), timezone.localdate())
    client = login(manager)
    listed = client.get("/visits/commitments/")
    assert f"commitment-{promise.pk}" in listed.content.decode()
    answer = client.post(
        f"/visits/commitments/{promise.pk}/close/",
        {"outcome": CommitmentStatus.KEPT, "next": f"/visits/{promise.visit_id}/"},
    )
    assert answer["Location"] == f"/visits/{promise.visit_id}/"
    promise.refresh_from_db()
    assert promise.status == CommitmentStatus.KEPT
    # A link to another site is not followed
    [other] = _promised(manager, store(tree.grid_a), timezone.localdate())
    away = client.post(
        f"/visits/commitments/{other.pk}/close/",
        {"outcome": CommitmentStatus.KEPT, "next": "https://evil.example/"},
    )
    assert away["Location"] == "/visits/commitments/"
