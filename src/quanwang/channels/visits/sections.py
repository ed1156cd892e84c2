"""What the visits part adds to pages other parts own: the store page (channels.stores), the
grid page (channels.scorecards) and the partner's own page (channels.visits). Each function
returns the context of its template (channels/visits/_<page>_section.html), or None to add
nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from quanwang.channels.models import Commitment, PartnerIssue, Store, StoreVisit
from quanwang.channels.visits.choices import CommitmentStatus, IssueStatus
from quanwang.channels.visits.services import issues as issue_services
from quanwang.channels.visits.services.attainment import attainment_by_grid
from quanwang.channels.visits.services.commitments import is_overdue
from quanwang.channels.visits.services.partner import partner_stores
from quanwang.channels.visits.services.plan import due_list, store_plan_state
from quanwang.channels.visits.services.scope import person, stores_for, visible
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant

#: Visits shown in a section, the newest first.
LAST_VISITS = 5
PARTNER_VISITS = 10


def _visit_rows(visits: Any) -> list[dict[str, Any]]:
    return [{"visit": v, "visitor": person(v.visitor)} for v in visits]


def _commitment_rows(commitments: Any, *, today: Any) -> list[dict[str, Any]]:
    return [{"c": c, "overdue": is_overdue(c, today=today)} for c in commitments]


def _issue_rows(issues: Any, *, today: Any) -> list[dict[str, Any]]:
    return [{"issue": i, "days": issue_services.days_open(i, today=today)} for i in issues]


def store_section(*, store: Store, user: Any, month: str | None) -> dict[str, Any] | None:
    """The store's last visits, its open commitments and issues, and when the next visit is
    due (None: the user may not read the store's visits)."""
    readable = stores_for(user=user, resource=Resource.STORE_VISIT, action=Action.VIEW)
    if not readable.filter(pk=store.pk).exists():
        return None
    today = timezone.localdate()
    visits = (
        visible(StoreVisit, user=user)
        .filter(store=store)
        .select_related("visitor")
        .order_by("-visited_on", "-pk")[:LAST_VISITS]
    )
    commitments = (
        visible(Commitment, user=user)
        .filter(store=store, status=CommitmentStatus.OPEN)
        .order_by("due_on", "pk")
    )
    issues = issue_services.issues_in_reach(user=user).filter(store=store)
    can_log = (
        stores_for(user=user, resource=Resource.STORE_VISIT, action=Action.ADD)
        .filter(pk=store.pk)
        .exists()
    )
    return {
        "store": store,
        "month": month,
        "state": store_plan_state(store=store, today=today) if store.active else None,
        "visits": _visit_rows(visits),
        "commitments": _commitment_rows(commitments, today=today),
        "issues": _issue_rows(issues, today=today),
        "can_log": can_log,
    }


def grid_section(*, grid: OrgUnit, user: Any, month: str | None) -> dict[str, Any] | None:
    """The grid's visits done against plan in the month, and how many of its stores in the
    user's reach are overdue or due a visit today."""
    if not has_grant(user, resource=Resource.STORE_VISIT, action=Action.VIEW):
        return None
    today = timezone.localdate()
    chosen = month or today.strftime("%Y-%m")
    try:
        attainment = attainment_by_grid(month=chosen).get(grid.code)
    except ServiceError:
        return None
    states = due_list(user=user, today=today, within=grid).rows
    return {
        "grid": grid,
        "month": chosen,
        "attainment": attainment,
        "rate": attainment.done / attainment.planned if attainment and attainment.planned else None,
        "due": states,
    }


def partner_section(*, stores: list[Store], user: Any) -> dict[str, Any] | None:
    """The partner's visits, the commitments open on either side, and its issues with their
    status and age (None: no store, or the user may read none of this)."""
    if not stores:
        return None
    today = timezone.localdate()
    pks = [s.pk for s in stores]
    visits = (
        visible(StoreVisit, user=user)
        .filter(store__in=pks)
        .select_related("visitor", "store")
        .order_by("-visited_on", "-pk")[:PARTNER_VISITS]
    )
    commitments = (
        visible(Commitment, user=user)
        .filter(store__in=pks, status=CommitmentStatus.OPEN)
        .select_related("store")
        .order_by("due_on", "pk")
    )
    unresolved_first = Case(
        When(status=IssueStatus.RESOLVED, then=Value(1)), default=Value(0),
        output_field=IntegerField(),
    )  # fmt: skip
    issues = (
        visible(PartnerIssue, user=user)
        .filter(store__in=pks)
        .select_related("store")
        .order_by(unresolved_first, "raised_at", "pk")
    )
    return {
        "stores": stores,
        "visits": _visit_rows(visits),
        "commitments": _commitment_rows(commitments, today=today),
        "issues": _issue_rows(issues, today=today),
    }


def home_section(*, user: Any) -> dict[str, Any] | None:
    """The console home's card for a partner's login: its stores, each a link to its page
    (None: the login is no store's partner)."""
    # The home page of every login renders this: only one whose roles reach stores as their
    # partner (Reach.OWN, read from the assignments already in hand) asks the database.
    if not has_grant(user, resource=Resource.STORE, action=Action.VIEW, only=Reach.OWN):
        return None
    stores = list(partner_stores(user=user))
    return {"stores": stores} if stores else None
