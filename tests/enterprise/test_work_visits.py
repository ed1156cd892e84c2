"""Logging a visit to an account: purpose, the account's own key persons met, outcome and next
step; one visit per form however often it is sent; another scope's account refused."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.models import EnterpriseVisit
from quanwang.enterprise.models.work import VisitPurpose
from quanwang.enterprise.work.choices import DueReason
from quanwang.enterprise.work.services import plan
from quanwang.enterprise.work.services.visit_log import VisitInput, log_visit
from tests import factories
from tests.enterprise import persons_factories as pf
from tests.enterprise.work_world import build


def _today() -> dt.date:
    return timezone.localdate()


def _input(**changes: Any) -> VisitInput:
    base: dict[str, Any] = {
        "visited_on": _today(),
        "purpose": VisitPurpose.SOLUTION,
        "outcome": "客户同意试用5G专网",
        "next_step": "下周送方案",
        "follow_up_on": _today() + dt.timedelta(days=7),
    }
    base.update(changes)
    return VisitInput(**base)


def test_a_visit_is_logged_with_the_persons_met(tree: factories.Tree) -> None:
    world = build(tree)
    boss = pf.person()
    pf.role(account=world.a, person=boss)
    logged = log_visit(
        user=world.am_user,
        account_pk=world.a.pk,
        data=_input(persons_met=[boss.pk]),
        idempotency_key=uuid.uuid4(),
    )
    assert logged.created
    visit = EnterpriseVisit.objects.get()
    assert (visit.account, visit.visitor, visit.logged_for) == (world.a, world.am, world.a)
    assert list(visit.persons_met.all()) == [boss]
    # And the follow-up makes the account due again on that day
    due = plan.visits_due(user=world.am_user, on=_today() + dt.timedelta(days=7))
    assert (world.a, DueReason.FOLLOW_UP) in [(d.account, d.reason) for d in due]


def test_a_person_of_another_account_cannot_be_named(tree: factories.Tree) -> None:
    world = build(tree)
    stranger = pf.person()
    pf.role(account=world.far, person=stranger)
    with pytest.raises(ServiceError) as refused:
        log_visit(
            user=world.am_user,
            account_pk=world.a.pk,
            data=_input(persons_met=[stranger.pk]),
            idempotency_key=uuid.uuid4(),
        )
    assert refused.value.field == "persons_met"
    assert not EnterpriseVisit.objects.exists()


def test_the_same_form_sent_twice_logs_one_visit(tree: factories.Tree) -> None:
    world = build(tree)
    key = uuid.uuid4()
    first = log_visit(user=world.am_user, account_pk=world.a.pk, data=_input(), idempotency_key=key)
    again = log_visit(user=world.am_user, account_pk=world.a.pk, data=_input(), idempotency_key=key)
    assert (first.created, again.created) == (True, False)
    assert again.visit == first.visit
    assert EnterpriseVisit.objects.count() == 1
    # And the database refuses a second row with that key written past the service
    with pytest.raises(IntegrityError), transaction.atomic():
        EnterpriseVisit.objects.create(
            account=world.a, visitor=world.am, visited_on=_today(), purpose="other",
            outcome="x", idempotency_key=key,
        )  # fmt: skip


def test_a_form_key_reused_for_another_account_is_refused(tree: factories.Tree) -> None:
    world = build(tree)
    key = uuid.uuid4()
    log_visit(user=world.am_user, account_pk=world.a.pk, data=_input(), idempotency_key=key)
    with translation.override("en"), pytest.raises(ServiceError, match="another account"):
        log_visit(user=world.am_user, account_pk=world.b.pk, data=_input(), idempotency_key=key)


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_log_one_visit(tree: factories.Tree) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the race needs a server database")
    world = build(tree)
    key = uuid.uuid4()
    start = threading.Barrier(2)
    results: list[Any] = []

    def send() -> None:
        from django.db import connections

        try:
            start.wait()
            results.append(
                log_visit(
                    user=world.am_user, account_pk=world.a.pk, data=_input(), idempotency_key=key
                )
            )
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(not isinstance(r, Exception) for r in results), results
    assert EnterpriseVisit.objects.count() == 1
    assert sorted(r.created for r in results) == [False, True]


def test_an_account_outside_the_scope_is_refused(tree: factories.Tree) -> None:
    world = build(tree)
    # The other county's account, and a team the manager is not on, look like none at all
    with pytest.raises(NotFound):
        log_visit(
            user=world.am_user, account_pk=world.far.pk, data=_input(), idempotency_key=uuid.uuid4()
        )
    # An auditor reads visits but logs none
    with pytest.raises(NotFound):
        log_visit(
            user=world.auditor, account_pk=world.a.pk, data=_input(), idempotency_key=uuid.uuid4()
        )
    assert not EnterpriseVisit.objects.exists()


def test_the_page_of_an_outsiders_account_is_not_found(tree: factories.Tree, login: Any) -> None:
    world = build(tree)
    client = login(world.am_user)
    assert client.get(f"/enterprise/visits/new/{world.far.pk}/").status_code == 404
    response = client.post(
        f"/enterprise/visits/new/{world.far.pk}/",
        {"idempotency_key": str(uuid.uuid4()), "visited_on": _today().isoformat(),
         "purpose": "needs", "outcome": "x"},
    )  # fmt: skip
    assert response.status_code == 404
    assert not EnterpriseVisit.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"visited_on": dt.date.today() + dt.timedelta(days=2)}, "visited_on"),
        ({"visited_on": dt.date.today() - dt.timedelta(days=60)}, "visited_on"),
        ({"outcome": "  "}, "outcome"),
        ({"purpose": "party"}, "purpose"),
        ({"follow_up_on": dt.date.today() - dt.timedelta(days=1)}, "follow_up_on"),
        ({"next_step": ""}, "next_step"),
    ],
)
def test_bad_input_names_its_field_and_logs_nothing(
    tree: factories.Tree, changes: dict[str, Any], field: str
) -> None:
    world = build(tree)
    with pytest.raises(ServiceError) as refused:
        log_visit(
            user=world.am_user,
            account_pk=world.a.pk,
            data=_input(**changes),
            idempotency_key=uuid.uuid4(),
        )
    assert refused.value.field == field
    assert not EnterpriseVisit.objects.exists()


def test_the_form_posts_once_and_shows_the_visit(tree: factories.Tree, login: Any) -> None:
    world = build(tree)
    boss = pf.person()
    pf.role(account=world.a, person=boss)
    client = login(world.am_user)
    page = client.get(f"/enterprise/visits/new/{world.a.pk}/")
    assert page.status_code == 200
    key = str(uuid.uuid4())
    form = {
        "idempotency_key": key, "visited_on": _today().isoformat(), "purpose": "solution",
        "persons_met": [str(boss.pk)], "outcome": "同意试点", "next_step": "", "follow_up_on": "",
    }  # fmt: skip
    first = client.post(f"/enterprise/visits/new/{world.a.pk}/", form)
    second = client.post(f"/enterprise/visits/new/{world.a.pk}/", form)
    visit = EnterpriseVisit.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/enterprise/visits/{visit.pk}/"
    detail = client.get(first["Location"])
    assert detail.status_code == 200
    # The person met is shown masked
    assert boss.name not in detail.content.decode()
