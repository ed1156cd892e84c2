"""What the persons part adds to pages it does not own (enterprise.sections): the account 360
page (key persons, ratings, the relationship map, care moments), the enterprise dashboard
(care moments due this week) and the home page (an account manager's reminders)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.querysets import has_grant
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import CareMoment, CareStatus
from quanwang.enterprise.persons import pii
from quanwang.enterprise.persons.services.care import due_care
from quanwang.enterprise.persons.services.people import person_accounts
from quanwang.enterprise.persons.services.relationship import (
    influence_rows,
    person_rows,
    relationship_map,
)

HOME_LIMIT = 8


def _week(today: dt.date) -> tuple[dt.date, dt.date]:
    start = today - dt.timedelta(days=today.weekday())
    return start, start + dt.timedelta(days=6)


def _shown(moments: list[CareMoment]) -> list[CareMoment]:
    for moment in moments:
        moment.person_shown = pii.masked_name(moment.person)  # type: ignore[attr-defined]
    return moments


def account_section(*, account: Account, user: Any) -> dict[str, Any] | None:
    if not person_accounts(user=user).filter(pk=account.pk).exists():
        return None
    rows = person_rows(account=account)
    today = timezone.localdate()
    person_ids = [row.person.pk for row in rows]
    moments = (
        CareMoment.objects.filter(person_id__in=person_ids, date__gte=today - dt.timedelta(days=30))
        .select_related("person")
        .prefetch_related("actions")
        .order_by("date")[:20]
    )
    return {
        "account": account,
        "rows": rows,
        "graph": relationship_map(account=account, rows=rows),
        "map_id": f"person-graph-{account.pk}-data",
        "edges": influence_rows(account=account),
        "moments": _shown(list(moments)),
        "today": today,
    }


def dashboard_section(*, user: Any) -> dict[str, Any] | None:
    if not has_grant(user, resource=Resource.KEY_PERSON, action=Action.VIEW):
        return None
    start, end = _week(timezone.localdate())
    due = list(due_care(user=user, start=start, end=end))
    return {"moments": _shown(due[:20]), "count": len(due), "start": start, "end": end}


def home_section(*, user: Any) -> dict[str, Any] | None:
    """An account manager's care reminders: overdue ones of the last two weeks and this
    week's, soonest first. Nothing for those who follow a unit from above."""
    if not has_grant(user, resource=Resource.KEY_PERSON, action=Action.CHANGE, only=Reach.OWN):
        return None
    today = timezone.localdate()
    _start, end = _week(today)
    due = list(due_care(user=user, start=today - dt.timedelta(days=14), end=end))
    if not due:
        return None
    return {
        "moments": _shown(due[:HOME_LIMIT]),
        "count": len(due),
        "overdue": sum(1 for m in due if m.date < today),
        "today": today,
        "status_due": CareStatus.DUE,
    }
