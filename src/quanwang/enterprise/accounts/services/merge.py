"""Merging a duplicate account B into account A, keeping every record's history.

- B becomes status MERGED with `merged_into` = A and keeps its page (read-only), its history
  and its team rows; A gains B's team members (B's lead as a supporting manager), B's members
  and products (their `enterprise_id` still says where they came from; later syncs put B's
  warehouse rows on A), and B's child accounts.
- The other parts re-point their own rows through `accounts.merging` hooks, in the same
  transaction; a part without a hook leaves its rows on B, readable there.
- Refused when both accounts have open opportunities (pipeline decides which are open),
  or when any registered check refuses, with the reason; nothing is changed then.
- Audited (AuditAction.ACCOUNT_MERGED). Both rows are locked in a fixed order, and AccountMerge
  is one per merged account: a retry returns the merge already made, and two merges at once
  run one after the other (the second finds B merged).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, AuditAction, AuditTarget
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.services import audit
from quanwang.enterprise.accounts import merging
from quanwang.enterprise.accounts.choices import ChangeKind, Source
from quanwang.enterprise.accounts.services.team import REASON_MAX_LENGTH
from quanwang.enterprise.choices import AccountStatus, TeamRole
from quanwang.enterprise.models import (
    Account,
    AccountChange,
    AccountMember,
    AccountMerge,
    AccountProduct,
    AccountTeamMember,
)


def _pair(*, user: Any, survivor_id: str, merged_id: str) -> tuple[Account, Account]:
    if survivor_id == merged_id:
        raise ServiceError(_("An account cannot be merged into itself."), field="merged")
    allowed = Account.objects.restrict(user, Action.APPROVE)
    found = {
        a.enterprise_id: a.pk
        for a in allowed.filter(enterprise_id__in=[survivor_id, merged_id]).only("pk")
    }
    if survivor_id not in found or merged_id not in found:
        raise NotFound
    # Locked in pk order, so that two merges of the same pair cannot deadlock.
    locked = {
        a.pk: a
        for a in Account.objects.select_for_update()
        .filter(pk__in=found.values())
        .order_by("pk")
        .select_related("org_unit")
    }
    return locked[found[survivor_id]], locked[found[merged_id]]


def _open_opportunity_check(*, survivor: Account, merged: Account, user: Any) -> str | None:
    """Both accounts with open opportunities: the pipeline part's contract
    `pipeline.services.open_opportunities(user=...)` says which are open."""
    try:
        module = import_module("quanwang.enterprise.pipeline.services")
    except ModuleNotFoundError:
        return None
    reader = getattr(module, "open_opportunities", None)
    if reader is None:
        return None
    holders = set(
        reader(user=user)
        .filter(account_id__in=[survivor.pk, merged.pk])
        .values_list("account_id", flat=True)
    )
    if {survivor.pk, merged.pk} <= holders:
        return _(
            "Both %(a)s and %(b)s have open opportunities: close or move one account's "
            "opportunities before merging."
        ) % {"a": survivor.enterprise_id, "b": merged.enterprise_id}
    return None


def refusal(*, user: Any, survivor: Account, merged: Account) -> str | None:
    """Why the merge may not happen now, or None."""
    if survivor.status == AccountStatus.MERGED:
        return _("Account %(id)s was itself merged; merge into the account it was merged into.") % {
            "id": survivor.enterprise_id
        }
    if merged.status == AccountStatus.MERGED:
        return _("Account %(id)s was already merged into another account.") % {
            "id": merged.enterprise_id
        }
    found = _open_opportunity_check(survivor=survivor, merged=merged, user=user)
    if found:
        return found
    for check in merging.checks().values():
        found = check(survivor=survivor, merged=merged, user=user)
        if found:
            return found
    return None


def merge_accounts(
    *,
    user: Any,
    survivor_id: str,
    merged_id: str,
    reason: str,
    ip_address: str | None = None,
) -> AccountMerge:
    """Fold account `merged_id` into `survivor_id` (see the module's doc)."""
    why = (reason or "").strip()
    if not why:
        raise ServiceError(_("Give the reason for the merge."), field="reason")
    if len(why) > REASON_MAX_LENGTH:
        raise ServiceError(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX_LENGTH},
            field="reason",
        )
    with transaction.atomic():
        survivor, merged = _pair(user=user, survivor_id=survivor_id, merged_id=merged_id)
        done = AccountMerge.objects.filter(merged=merged).first()
        if done is not None:
            if done.account_id == survivor.pk:
                return done  # a retry: the merge stands, nothing doubles
            raise ServiceError(
                _("Account %(id)s was already merged into another account.")
                % {"id": merged.enterprise_id}
            )
        refused = refusal(user=user, survivor=survivor, merged=merged)
        if refused:
            raise ServiceError(refused, field="merged")
        moved: dict[str, dict[str, int]] = {"accounts": _move_own(survivor, merged, user, why)}
        for part, hook in merging.hooks().items():
            moved[part] = hook(survivor=survivor, merged=merged)
        merged.status, merged.merged_into = AccountStatus.MERGED, survivor
        merged.member_count = 0
        merged.save(update_fields=["status", "merged_into", "member_count"])
        survivor.member_count = AccountMember.objects.filter(account=survivor).count()
        survivor.save(update_fields=["member_count"])
        record = AccountMerge.objects.create(
            account=survivor,
            merged=merged,
            reason=why,
            moved=moved,
            merged_by=user if getattr(user, "pk", None) else None,
        )
        for account in (survivor, merged):
            AccountChange.objects.create(
                account=account,
                kind=ChangeKind.MERGED,
                before=merged.enterprise_id,
                after=survivor.enterprise_id,
                reason=why,
                source=Source.CONSOLE,
                changed_by=record.merged_by,
            )
        audit.record(
            actor=user,
            action=AuditAction.ACCOUNT_MERGED,
            target=survivor,
            target_type=AuditTarget.ENTERPRISE_ACCOUNT,
            target_repr=f"{merged.enterprise_id} → {survivor.enterprise_id}",
            org_unit=survivor.org_unit,
            reason=why,
            ip_address=ip_address,
        )
    return record


def _move_own(survivor: Account, merged: Account, user: Any, why: str) -> dict[str, int]:
    """This part's rows: members, products, team (copied), child accounts."""
    members = AccountMember.objects.filter(account=merged).update(account=survivor)
    products = AccountProduct.objects.filter(account=merged).update(account=survivor)
    on_team = set(
        AccountTeamMember.objects.filter(account=survivor).values_list("staff_id", flat=True)
    )
    copies = [
        AccountTeamMember(
            account=survivor,
            staff_id=m.staff_id,
            # One lead per account: the survivor's stays, B's joins as a supporting manager.
            role=TeamRole.SUPPORT if m.role == TeamRole.LEAD else m.role,
            since=m.since,
            source=Source.CONSOLE,
        )
        for m in AccountTeamMember.objects.filter(account=merged).order_by("pk")
        if m.staff_id not in on_team
    ]
    AccountTeamMember.objects.bulk_create(copies)
    # B's children go under A; if A itself was under B, A takes B's place.
    children = list(Account.objects.filter(Q(parent=merged) & ~Q(pk=survivor.pk)).order_by("pk"))
    for child in children:
        child.parent = survivor
        AccountChange.objects.create(
            account=child,
            kind=ChangeKind.PARENT,
            before=merged.enterprise_id,
            after=survivor.enterprise_id,
            reason=why,
            changed_by=user if getattr(user, "pk", None) else None,
        )
    Account.objects.bulk_update(children, ["parent"])
    if survivor.parent_id == merged.pk:
        survivor.parent_id = merged.parent_id
        survivor.save(update_fields=["parent"])
    return {
        "members": members,
        "products": products,
        "team": len(copies),
        "children": len(children),
    }
