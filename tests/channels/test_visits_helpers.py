"""Builders the visits tests share (no tests here): stores on the factories' tree, partner
logins and visit forms. Real rows, no mocks."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from quanwang.channels.choices import StoreGrade, StoreType
from quanwang.channels.models import Store, StoreVisit
from quanwang.channels.visits.services.visit_log import VisitNotes, log_visit
from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit
from tests import factories

_numbers = itertools.count(1)
NOTES = VisitNotes(
    how_are_things="客流平稳", new_plans="下月办社区活动", our_support="补宣传物料",
    their_commitment="完成20张5G卡",
)  # fmt: skip


def store(
    at: OrgUnit,
    *,
    grade: str = StoreGrade.KEY,
    store_type: str = StoreType.PARTNER,
    name: str | None = None,
    active: bool = True,
) -> Store:
    number = next(_numbers)
    return Store.objects.create(
        store_id=f"ST{number:06d}",
        name=name or f"测试门店{number}",
        store_type=store_type,
        grade=grade,
        org_unit=at,
        grid_id=at.code,
        active=active,
    )


def partner_of(shop: Store) -> Any:
    """A channel partner's login for `shop`, its role held at the store's grid."""
    login = factories.user(role=Role.CHANNEL_PARTNER, at=shop.org_unit)
    shop.partners.add(login)
    return login


def visit_form(day: dt.date, **changes: Any) -> dict[str, Any]:
    """The visit form's fields as a phone sends them, with a fresh key and no commitment."""
    data: dict[str, Any] = {
        "idempotency_key": str(uuid.uuid4()),
        "visited_on": day.isoformat(),
        **dict(vars(NOTES).items()),
        "issue_category": "",
        "issue_description": "",
        "c-TOTAL_FORMS": "2",
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "5",
        "c-0-side": "合作方",
        "c-0-what": "",
        "c-0-due_on": "",
        "c-1-side": "我方",
        "c-1-what": "",
        "c-1-due_on": "",
    }
    data.update(changes)
    return data


def logged(by: Any, shop: Store, day: dt.date, **kw: Any) -> StoreVisit:
    return log_visit(
        user=by,
        store_pk=shop.pk,
        visited_on=day,
        notes=NOTES,
        idempotency_key=uuid.uuid4(),
        now=kw.pop("now", None),
        **kw,
    ).visit
