"""Personal data of key persons: masked everywhere by default; the full name and number only
for a user who holds VIEW_PII over the person (through an account they reach), with a reason,
and every reveal audited (AuditAction.VIEW_PII on AuditTarget.KEY_PERSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, AuditAction, AuditTarget, PiiKind
from quanwang.core.errors import NotFound
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit
from quanwang.core.services import audit
from quanwang.core.tabular import csv_text
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import KeyPerson, KeyPersonRole
from quanwang.enterprise.persons.services.people import person_accounts


@dataclass(frozen=True)
class Shown:
    """What a page shows of a person: masked unless revealed."""

    pk: int
    name: str
    mobile: str


def masked(person: KeyPerson) -> Shown:
    return Shown(
        pk=person.pk,
        name=mask(person.name, PiiKind.NAME),
        mobile=mask(person.mobile, PiiKind.MSISDN),
    )


def masked_name(person: KeyPerson) -> str:
    return mask(person.name, PiiKind.NAME)


def may_reveal(*, user: Any, person: KeyPerson) -> bool:
    return KeyPerson.objects.restrict(user, Action.VIEW_PII).filter(pk=person.pk).exists()


def may_export_full(*, user: Any) -> bool:
    """Whether exports may carry full personal data: EXPORT_PII over key persons somewhere
    (no role holds it today, so exports are masked)."""
    from quanwang.core.choices import Resource
    from quanwang.core.querysets import has_grant

    return has_grant(user, resource=Resource.KEY_PERSON, action=Action.EXPORT_PII)


def reveal(*, user: Any, person_pk: int, reason: str, ip_address: str | None = None) -> Shown:
    """The full name and number, for a user with VIEW_PII over the person; the reason and the
    view are audited in the same transaction (no reveal without its record)."""
    with transaction.atomic():
        person = KeyPerson.objects.restrict(user, Action.VIEW_PII).filter(pk=person_pk).first()
        if person is None:
            raise NotFound()
        role = (
            KeyPersonRole.objects.restrict(user, Action.VIEW_PII)
            .filter(person=person)
            .select_related("account__org_unit")
            .order_by("pk")
            .first()
        )
        if role is None:
            raise NotFound()
        audit.record(
            actor=user,
            action=AuditAction.VIEW_PII,
            target=person,
            target_type=AuditTarget.KEY_PERSON,
            target_repr=f"{masked_name(person)} {mask(person.mobile, PiiKind.MSISDN)}",
            org_unit=role.account.org_unit,
            reason=reason,
            ip_address=ip_address,
        )
    return Shown(pk=person.pk, name=person.name, mobile=person.mobile)


def export_csv(*, user: Any, full: bool, reason: str) -> str:
    """The user's key persons as CSV, one row per role on an account they reach: masked,
    unless `full` is asked for and the user holds EXPORT_PII (then the export is audited)."""
    full = full and may_export_full(user=user)
    roles = (
        person_accounts(user=user)
        .filter(key_person_roles__isnull=False)
        .values_list(
            "enterprise_id",
            "name",
            "key_person_roles__person__name",
            "key_person_roles__person__mobile",
            "key_person_roles__role",
            "key_person_roles__title",
        )
        .order_by("enterprise_id", "key_person_roles__person_id")
    )
    rows = [
        [
            code,
            account_name,
            name if full else mask(name, PiiKind.NAME),
            mobile if full else mask(mobile, PiiKind.MSISDN),
            str(PersonRole(role).label),
            title,
        ]
        for code, account_name, name, mobile, role, title in roles
    ]
    if full:
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
        if root is not None:
            audit.record(
                actor=user,
                action=AuditAction.EXPORT_PII,
                target=None,
                target_type=AuditTarget.KEY_PERSON,
                target_repr=_("%(n)d key persons") % {"n": len(rows)},
                org_unit=root,
                reason=reason or _("Export of key persons"),
            )
    header = [_("Account code"), _("Account"), _("Name"), _("Mobile"), _("Role"), _("Job title")]
    return csv_text(header=header, rows=rows)
