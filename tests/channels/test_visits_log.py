"""Logging a visit on the four-point checklist: from the phone form, only to a store in the
visitor's reach, once per form however often it is sent, and bad input refused by name."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from quanwang.channels.models import Commitment, PartnerIssue, StoreVisit
from quanwang.channels.visits.choices import CommitmentSide, IssueCategory, IssueSource
from quanwang.channels.visits.services.visit_log import (
    CommitmentInput,
    IssueInput,
    log_visit,
)
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.channels.test_visits_helpers import NOTES, partner_of, store, visit_form

NOON = dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2024, 6, 20)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def test_a_grid_manager_logs_a_visit_with_commitments_and_an_issue(
    tree: factories.Tree, login: Any
) -> None:
    # Given a grid manager and a store of their grid
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    today = timezone.localdate()
    client = login(manager)

    # When they fill in the four points, one commitment of each side and an issue
    form = visit_form(
        today,
        **{
            "c-0-what": "完成20张5G卡", "c-0-due_on": (today + dt.timedelta(days=14)).isoformat(),
            "c-1-what": "补发宣传物料", "c-1-due_on": (today + dt.timedelta(days=7)).isoformat(),
            "issue_category": IssueCategory.LATE_SUPPLY, "issue_description": "热门机型缺货",
        },
    )  # fmt: skip
    page = client.get(f"/visits/stores/{shop.pk}/new/")
    answer = client.post(f"/visits/stores/{shop.pk}/new/", form)

    # Then the visit is logged, by them, with what was promised on both sides and the issue
    assert page.status_code == 200
    visit = StoreVisit.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/visits/{visit.pk}/"
    assert (visit.store, visit.visitor, visit.visited_on) == (shop, manager, today)
    assert visit.how_are_things == NOTES.how_are_things
    assert sorted(Commitment.objects.values_list("side", "what")) == [
        (CommitmentSide.PARTNER, "完成20张5G卡"),
        (CommitmentSide.OURS, "补发宣传物料"),
    ]
    issue = PartnerIssue.objects.get()
    assert (issue.visit, issue.store, issue.source, issue.raised_by) == (
        visit, shop, IssueSource.STAFF, manager,
    )  # fmt: skip
    assert "热门机型缺货" in client.get(f"/visits/{visit.pk}/").content.decode()


def test_a_visit_logged_for_a_store_outside_the_users_scope_is_not_found(
    tree: factories.Tree, login: Any
) -> None:
    # Given a grid manager of grid A and a store of grid B
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    foreign = store(tree.grid_b)
    client = login(manager)

    # When they open the visit form of B's store, or post one to it
    opened = client.get(f"/visits/stores/{foreign.pk}/new/")
    posted = client.post(f"/visits/stores/{foreign.pk}/new/", visit_form(timezone.localdate()))

    # Then both are not found, and nothing was logged; the service refuses it the same way
    assert (opened.status_code, posted.status_code) == (404, 404)
    assert not StoreVisit.objects.exists()
    with pytest.raises(NotFound):
        log_visit(
            user=manager, store_pk=foreign.pk, visited_on=DAY, notes=NOTES,
            idempotency_key=uuid.uuid4(), now=NOON,
        )  # fmt: skip
    assert not StoreVisit.objects.exists()


def test_a_partner_and_an_auditor_cannot_log_visits(tree: factories.Tree, login: Any) -> None:
    # Given a partner of a store and an auditor of the province
    shop = store(tree.grid_a)
    partner = partner_of(shop)
    auditor = factories.user(role=Role.AUDITOR, at=tree.province)

    # When each posts a visit to the store
    for user in (partner, auditor):
        answer = login(user).post(f"/visits/stores/{shop.pk}/new/", visit_form(DAY))
        # Then it is not found
        assert answer.status_code == 404
    assert not StoreVisit.objects.exists()


def test_the_same_form_sent_twice_logs_one_visit(tree: factories.Tree, login: Any) -> None:
    # Given a filled-in visit form with a commitment
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    today = timezone.localdate()
    form = visit_form(today, **{"c-0-what": "完成20张5G卡", "c-0-due_on": today.isoformat()})
    client = login(manager)

    # When it is sent twice (a double tap, or a retry after a lost answer)
    first = client.post(f"/visits/stores/{shop.pk}/new/", form)
    second = client.post(f"/visits/stores/{shop.pk}/new/", form)

    # Then one visit and one commitment were logged, and both answers lead to that visit
    visit = StoreVisit.objects.get()
    assert Commitment.objects.count() == 1
    assert first["Location"] == second["Location"] == f"/visits/{visit.pk}/"


def test_the_unique_key_refuses_a_second_visit_of_the_same_form(tree: factories.Tree) -> None:
    # Given a visit logged with a form's key
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    key = uuid.uuid4()
    log_visit(
        user=manager, store_pk=shop.pk, visited_on=DAY, notes=NOTES, idempotency_key=key,
        now=NOON,
    )  # fmt: skip

    # When a second row with that key is written past the service (the race it cannot see)
    # Then the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreVisit.objects.create(
            store=shop, visitor=manager, visited_on=DAY, idempotency_key=key,
            **vars(NOTES),
        )  # fmt: skip
    assert StoreVisit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_log_one_visit(tree: factories.Tree) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the race needs a server database")
    # Given one form, sent by two requests at the same moment
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    key = uuid.uuid4()
    start = threading.Barrier(2)
    results: list[Any] = []

    def send() -> None:
        from django.db import connections

        try:
            start.wait()
            results.append(
                log_visit(
                    user=manager, store_pk=shop.pk, visited_on=DAY, notes=NOTES,
                    idempotency_key=key, now=NOON,
                )
            )  # fmt: skip
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then both answers are the one visit, and one was created
    assert all(not isinstance(r, Exception) for r in results), results
    assert StoreVisit.objects.count() == 1
    assert sorted(r.created for r in results) == [False, True]
    assert {r.visit.pk for r in results} == {StoreVisit.objects.get().pk}


def test_a_form_key_reused_for_another_store_is_refused(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    first, second = store(tree.grid_a), store(tree.grid_a)
    key = uuid.uuid4()
    log_visit(
        user=manager, store_pk=first.pk, visited_on=DAY, notes=NOTES, idempotency_key=key,
        now=NOON,
    )  # fmt: skip
    with pytest.raises(ServiceError, match="already used for another store"):
        log_visit(
            user=manager, store_pk=second.pk, visited_on=DAY, notes=NOTES, idempotency_key=key,
            now=NOON,
        )  # fmt: skip
    assert StoreVisit.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"visited_on": dt.date(2024, 6, 21)}, "visited_on", "day to come"),
        ({"visited_on": dt.date(2024, 4, 1)}, "visited_on", "up to 31 days"),
        ({"notes": NOTES.__class__("  ", "a", "b", "c")}, "how_are_things", "each of the four"),
        (
            {"commitments": [CommitmentInput(CommitmentSide.OURS, "物料", dt.date(2024, 6, 1))]},
            "commitments",
            "due before the visit",
        ),
        ({"issue": IssueInput(IssueCategory.OTHER, " ")}, "issue_description", "Describe"),
    ],
)
def test_bad_visit_input_is_refused_by_field_and_nothing_is_logged(
    tree: factories.Tree, change: dict[str, Any], field: str, message: str
) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    given: dict[str, Any] = {"visited_on": DAY, "notes": NOTES} | change
    with pytest.raises(ServiceError, match=message) as refused:
        log_visit(user=manager, store_pk=shop.pk, idempotency_key=uuid.uuid4(), now=NOON, **given)
    assert refused.value.field == field
    assert not StoreVisit.objects.exists()
    assert not Commitment.objects.exists()


def test_the_form_shows_a_bad_field_and_keeps_what_was_written(
    tree: factories.Tree, login: Any
) -> None:
    # Given a visit form with a commitment that has no due date and a future visit day
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    form = visit_form(tomorrow, **{"c-0-what": "完成20张5G卡", "new_plans": "开第二家店"})

    # When it is sent
    answer = login(manager).post(f"/visits/stores/{shop.pk}/new/", form, HTTP_ACCEPT_LANGUAGE="en")

    # Then the form comes back with the errors, and what was written is still in it
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "Say by when." in text
    assert "开第二家店" in text
    assert "完成20张5G卡" in text
    assert not StoreVisit.objects.exists()


def test_an_inactive_store_cannot_be_visited(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    closed = store(tree.grid_a, active=False)
    with pytest.raises(ServiceError, match="no longer active"):
        log_visit(
            user=manager, store_pk=closed.pk, visited_on=DAY, notes=NOTES,
            idempotency_key=uuid.uuid4(), now=NOON,
        )  # fmt: skip
