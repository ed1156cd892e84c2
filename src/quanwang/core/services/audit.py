"""Audit of every full view and export of personal data."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from quanwang.core.choices import AuditAction, AuditTarget
from quanwang.core.errors import ServiceError
from quanwang.core.models import AuditRecord, OrgUnit

REASON_MAX_LENGTH = 200


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ServiceError(_("Give the reason for seeing personal data."), field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ServiceError(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX_LENGTH},
            field="reason",
        )
    return text


def record(
    *,
    actor: Any,
    action: AuditAction,
    target: models.Model | None,
    target_type: AuditTarget,
    target_repr: str,
    org_unit: OrgUnit,
    reason: str,
    ip_address: str | None = None,
) -> AuditRecord:
    return AuditRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "system",
        action=action,
        target_type=target_type,
        target_id=str(target.pk) if target is not None else "",
        target_repr=target_repr[:200],
        org_unit=org_unit,
        reason=clean_reason(reason),
        ip_address=ip_address,
    )
