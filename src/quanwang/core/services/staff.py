"""Staff directory: masked by default; full views and exports are audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from quanwang.core.choices import Action, AuditAction, AuditTarget, PiiKind
from quanwang.core.errors import NotFound
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.services import audit
from quanwang.core.tabular import csv_text

EXPORT_COLUMNS = ("employee_no", "name", "mobile", "title", "org_unit_code", "org_unit_name")


def can_view_pii(*, actor: Any, staff: Staff) -> bool:
    return Staff.objects.restrict(actor, Action.VIEW_PII).filter(pk=staff.pk).exists()


def reveal_mobile(*, actor: Any, staff_id: int, reason: str, ip_address: str | None) -> str:
    """The full mobile number, for a role that may see it, with the reason audited."""
    with transaction.atomic():
        staff = (
            Staff.objects.restrict(actor, Action.VIEW_PII)
            .select_related("org_unit")
            .filter(pk=staff_id)
            .first()
        )
        if staff is None:
            raise NotFound()
        audit.record(
            actor=actor,
            action=AuditAction.VIEW_PII,
            target=staff,
            target_type=AuditTarget.STAFF,
            target_repr=f"{staff.employee_no} {mask(staff.mobile, PiiKind.MSISDN)}",
            org_unit=staff.org_unit,
            reason=reason,
            ip_address=ip_address,
        )
    return staff.mobile


def _common_unit(units: Iterable[OrgUnit]) -> OrgUnit | None:
    paths = [u.path for u in units]
    if not paths:
        return None
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return OrgUnit.objects.filter(path="/" + "/".join(common) + "/").first() if common else None


def export_csv(
    *,
    actor: Any,
    queryset: QuerySet[Staff],
    full: bool,
    reason: str,
    ip_address: str | None,
) -> str:
    """A CSV of the staff in `queryset` the actor may see. `full` needs the export right."""
    action = Action.EXPORT_PII if full else Action.VIEW
    audit.clean_reason(reason)
    rows = list(
        Staff.objects.restrict(actor, action)
        .filter(pk__in=queryset.values("pk"))
        .select_related("org_unit")
    )
    if not rows:
        raise NotFound()
    content = csv_text(
        header=EXPORT_COLUMNS,
        rows=(
            [
                s.employee_no, s.name, s.mobile if full else mask(s.mobile, PiiKind.MSISDN),
                s.title, s.org_unit.code, s.org_unit.name,
            ]
            for s in rows
        ),
    )  # fmt: skip
    scope_unit = _common_unit(s.org_unit for s in rows) or rows[0].org_unit
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT_PII if full else AuditAction.EXPORT,
        target=None,
        target_type=AuditTarget.STAFF,
        target_repr=f"{len(rows)} staff",
        org_unit=scope_unit,
        reason=reason,
        ip_address=ip_address,
    )
    return content
