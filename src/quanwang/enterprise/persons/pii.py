"""Personal data of key persons: masked everywhere by default; the full name and number only
for a user who holds VIEW_PII over the person (through an account they reach), with a reason,
and every reveal audited (AuditAction.VIEW_PII on AuditTarget.KEY_PERSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from quanwang.core.choices import Action, AuditAction, AuditTarget, PiiKind
from quanwang.core.errors import NotFound
from quanwang.core.masking import mask
from quanwang.core.services import audit
from quanwang.enterprise.models.persons import KeyPerson, KeyPersonRole


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
