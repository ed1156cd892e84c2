"""Use cases of the store file: finding a store in the user's scope, deciding a partner's stage,
revealing the owner's contact (audited)."""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.channels.choices import PartnerStage, StageSource
from quanwang.channels.models import StageChange, Store
from quanwang.channels.stores.facts import monthly_sales
from quanwang.channels.stores.regrading import newest_sales_month
from quanwang.channels.stores.stages import assess
from quanwang.core.choices import Action, AuditAction, AuditTarget, PiiKind
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask
from quanwang.core.services import audit

REASON_MAX_LENGTH = 300
# core.choices.AuditTarget has no member for stores yet; the value is what one would hold.
STORE_TARGET = cast(AuditTarget, getattr(AuditTarget, "STORE", "store"))


def visible_stores(user: Any, action: Action = Action.VIEW) -> Any:
    """The stores `user` may `action`, each once (a login that is a partner of a store in its
    own subtree would otherwise meet it twice through the partners join)."""
    scoped = Store.objects.restrict(user, action)
    return Store.objects.filter(pk__in=scoped.values("pk"))


def find_store(*, user: Any, store_id: str, action: Action = Action.VIEW) -> Store:
    """The store `store_id` if `user` may `action` it; NotFound otherwise (another scope reads
    as no such store)."""
    found = visible_stores(user, action).select_related("org_unit").filter(store_id=store_id)
    store = found.first()
    if store is None:
        raise NotFound()
    return store


def may(user: Any, store: Store, action: Action) -> bool:
    return Store.objects.restrict(user, action).filter(pk=store.pk).exists()


def change_stage(*, actor: Any, store_id: str, stage: str, reason: str) -> StageChange:
    """Move the partner's stage to `stage`, keeping who, when, why and what the system
    suggested then. Needs CHANGE on the store."""
    text = (reason or "").strip()
    if stage not in PartnerStage.values:
        raise ServiceError(_("Choose one of the stages."), field="stage")
    if not text:
        raise ServiceError(_("Say why the stage changes."), field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ServiceError(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX_LENGTH},
            field="reason",
        )
    visible = find_store(user=actor, store_id=store_id, action=Action.CHANGE)
    assessment = assess(
        store=visible,
        sales=monthly_sales(store_id=visible.store_id),
        newest_month=newest_sales_month(),
    )
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=visible.pk)
        if store.partner_stage == stage:
            raise ServiceError(
                _("The store is already at the stage %(stage)s.")
                % {"stage": PartnerStage(stage).label},
                field="stage",
            )
        change = StageChange.objects.create(
            store=store,
            from_stage=store.partner_stage,
            to_stage=stage,
            suggested_stage=assessment.suggested,
            facts=assessment.as_json(),
            reason=text,
            source=StageSource.CONSOLE,
            changed_by=actor if getattr(actor, "pk", None) else None,
        )
        store.partner_stage = stage
        store.save(update_fields=["partner_stage"])
    return change


def reveal_contact(
    *, actor: Any, store_id: str, reason: str, ip_address: str | None
) -> dict[str, str]:
    """The owner's name and contact number in full, for a role that may see personal data
    (VIEW_PII on the store), with the reason audited."""
    with transaction.atomic():
        store = find_store(user=actor, store_id=store_id, action=Action.VIEW_PII)
        audit.record(
            actor=actor,
            action=AuditAction.VIEW_PII,
            target=store,
            target_type=STORE_TARGET,
            target_repr=f"{store.store_id} {mask(store.contact_msisdn, PiiKind.MSISDN)}",
            org_unit=store.org_unit,
            reason=reason,
            ip_address=ip_address,
        )
    return {"owner_name": store.owner_name, "contact_msisdn": store.contact_msisdn}
