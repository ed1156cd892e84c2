"""Changing an account in the console: its team (members with roles, the one lead), its
ownership model (片警 / 刑警) and its place in the hierarchy.

Every change reads the account through `.restrict(user, Action.CHANGE)` (an account manager
changes only the accounts whose team they are on; any other account is NotFound), locks the
account row, is recorded in AccountChange with who and why, and is safe to repeat: a second
identical click finds the change made and does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.accounts.choices import ChangeKind, Source
from quanwang.enterprise.accounts.services.tree import MAX_DEPTH, cycle_error
from quanwang.enterprise.choices import AccountStatus, Ownership, TeamRole
from quanwang.enterprise.models import Account, AccountChange, AccountTeamMember

REASON_MAX_LENGTH = 500


def find_account(*, user: Any, enterprise_id: str, action: Action = Action.VIEW) -> Account:
    """The account with this enterprise ID if `user` may `action` it, else NotFound."""
    account = (
        Account.objects.restrict(user, action)
        .filter(enterprise_id=enterprise_id)
        .select_related("org_unit", "parent", "merged_into", "account_manager")
        .first()
    )
    if account is None:
        raise NotFound
    return account


def _locked(*, user: Any, enterprise_id: str) -> Account:
    account = find_account(user=user, enterprise_id=enterprise_id, action=Action.CHANGE)
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if locked.status == AccountStatus.MERGED:
        raise ServiceError(
            _("Account %(id)s was merged into another account and can no longer be changed.")
            % {"id": locked.enterprise_id}
        )
    return locked


def _reason(reason: str, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ServiceError(_("Give the reason for the change."), field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ServiceError(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX_LENGTH},
            field="reason",
        )
    return text


def _log(account: Account, user: Any, kind: ChangeKind, before: str, after: str, why: str) -> None:
    AccountChange.objects.create(
        account=account,
        kind=kind,
        before=before[:200],
        after=after[:200],
        reason=why,
        source=Source.CONSOLE,
        changed_by=user if getattr(user, "pk", None) else None,
    )


def _staff(*, user: Any, employee_no: str) -> Staff:
    """A staff member the user may see (their own org subtree)."""
    staff = Staff.objects.restrict(user).filter(employee_no=(employee_no or "").strip()).first()
    if staff is None:
        raise ServiceError(
            _("No staff member with employee number %(no)s in your scope.")
            % {"no": employee_no or "—"},
            field="employee_no",
        )
    return staff


def change_ownership(*, user: Any, enterprise_id: str, ownership: str, reason: str) -> Account:
    """Set the ownership model; the console's choice then wins over later imports."""
    if ownership not in Ownership.values:
        raise ServiceError(_("Choose an ownership model."), field="ownership")
    why = _reason(reason, required=True)
    with transaction.atomic():
        account = _locked(user=user, enterprise_id=enterprise_id)
        if account.ownership == ownership and account.ownership_source == Source.CONSOLE:
            return account
        before = account.ownership
        account.ownership, account.ownership_source = ownership, Source.CONSOLE
        account.save(update_fields=["ownership", "ownership_source"])
        _log(account, user, ChangeKind.OWNERSHIP, before, ownership, why)
    return account


def move_account(
    *, user: Any, enterprise_id: str, parent_enterprise_id: str | None, reason: str
) -> Account:
    """Put the account under another (or at the top with None); a cycle is refused."""
    why = _reason(reason, required=True)
    with transaction.atomic():
        account = _locked(user=user, enterprise_id=enterprise_id)
        parent = None
        if parent_enterprise_id:
            parent = (
                Account.objects.restrict(user)
                .filter(enterprise_id=parent_enterprise_id.strip())
                .first()
            )
            if parent is None:
                raise ServiceError(
                    _("No account with enterprise ID %(id)s in your scope.")
                    % {"id": parent_enterprise_id},
                    field="parent",
                )
            if parent.status == AccountStatus.MERGED:
                raise ServiceError(
                    _("Account %(id)s was merged; choose the account it was merged into.")
                    % {"id": parent.enterprise_id},
                    field="parent",
                )
            _refuse_cycle(account, parent)
        parent_id = parent.pk if parent else None
        if account.parent_id == parent_id and account.parent_source == Source.CONSOLE:
            return account
        before = account.parent.enterprise_id if account.parent else ""
        account.parent_id, account.parent_source = parent_id, Source.CONSOLE
        account.save(update_fields=["parent", "parent_source"])
        _log(account, user, ChangeKind.PARENT, before, parent.enterprise_id if parent else "", why)
    return account


def _refuse_cycle(account: Account, parent: Account) -> None:
    """Walk up from the new parent (all accounts, not only the user's: a cycle through an
    account out of scope is still a cycle); meeting `account` means a cycle."""
    chain = [account.enterprise_id]
    current: Account | None = parent
    for _depth in range(MAX_DEPTH):
        if current is None:
            return
        if current.pk == account.pk:
            raise cycle_error(chain)
        chain.append(current.enterprise_id)
        current = (
            Account.objects.filter(pk=current.parent_id).first() if current.parent_id else None
        )
    raise cycle_error(chain)


def add_member(
    *, user: Any, enterprise_id: str, employee_no: str, role: str, reason: str = ""
) -> AccountTeamMember:
    """Add a staff member to the team with a role (not LEAD: see `set_lead`). Adding someone
    already on the team changes their role."""
    if role not in TeamRole.values or role == TeamRole.LEAD:
        raise ServiceError(_("Choose a team role other than lead."), field="role")
    why = _reason(reason, required=False)
    with transaction.atomic():
        account = _locked(user=user, enterprise_id=enterprise_id)
        staff = _staff(user=user, employee_no=employee_no)
        member = AccountTeamMember.objects.filter(account=account, staff=staff).first()
        if member is not None:
            if member.role == TeamRole.LEAD:
                raise ServiceError(
                    _("%(name)s is the lead; make someone else lead first.") % {"name": staff},
                    field="employee_no",
                )
            if member.role != role:
                before = member.role
                member.role, member.source = role, Source.CONSOLE
                member.save(update_fields=["role", "source"])
                _log(
                    account,
                    user,
                    ChangeKind.TEAM_ADDED,
                    f"{staff}|{before}",
                    f"{staff}|{role}",
                    why,
                )
            return member
        member = AccountTeamMember.objects.create(
            account=account, staff=staff, role=role, since=timezone.localdate()
        )
        _log(account, user, ChangeKind.TEAM_ADDED, "", f"{staff}|{role}", why)
    return member


def remove_member(*, user: Any, enterprise_id: str, employee_no: str, reason: str = "") -> bool:
    """Take a staff member off the team (not the lead: change the lead first). Removing one
    who is not there is a no-op (a second click)."""
    why = _reason(reason, required=False)
    with transaction.atomic():
        account = _locked(user=user, enterprise_id=enterprise_id)
        member = (
            AccountTeamMember.objects.filter(account=account, staff__employee_no=employee_no)
            .select_related("staff")
            .first()
        )
        if member is None:
            return False
        if member.role == TeamRole.LEAD:
            raise ServiceError(
                _("The lead cannot be removed; make someone else lead first."),
                field="employee_no",
            )
        member.delete()
        _log(account, user, ChangeKind.TEAM_REMOVED, f"{member.staff}|{member.role}", "", why)
    return True


def set_lead(*, user: Any, enterprise_id: str, employee_no: str, reason: str) -> Account:
    """Make a staff member the lead (one per account): the old lead stays on the team as a
    supporting manager; Account.account_manager follows. The console's lead is kept by later
    imports."""
    why = _reason(reason, required=True)
    with transaction.atomic():
        account = _locked(user=user, enterprise_id=enterprise_id)
        staff = _staff(user=user, employee_no=employee_no)
        lead = AccountTeamMember.objects.filter(account=account, role=TeamRole.LEAD).first()
        if lead is not None and lead.staff_id == staff.pk:
            if lead.source != Source.CONSOLE:
                lead.source = Source.CONSOLE
                lead.save(update_fields=["source"])
            return account
        before = ""
        if lead is not None:
            before = str(lead.staff)
            lead.role, lead.source = TeamRole.SUPPORT, Source.CONSOLE
            lead.save(update_fields=["role", "source"])
        try:
            with transaction.atomic():
                AccountTeamMember.objects.update_or_create(
                    account=account,
                    staff=staff,
                    defaults={"role": TeamRole.LEAD, "source": Source.CONSOLE},
                    create_defaults={
                        "role": TeamRole.LEAD,
                        "source": Source.CONSOLE,
                        "since": timezone.localdate(),
                    },
                )
        except IntegrityError as exc:  # pragma: no cover - the row lock serialises clicks
            raise ServiceError(_("Someone changed the team at the same time; try again.")) from exc
        account.account_manager = staff
        account.save(update_fields=["account_manager"])
        _log(account, user, ChangeKind.LEAD, before, str(staff), why)
    return account
