"""The demo operator's account file (enterprise app): synced from the demo warehouse (after the
staff are loaded, so each account's lead is the generated 政企客户经理), then made into a
working day for the account_manager login: 20–40 accounts of mixed grades on their book, a few
group hierarchies among them, and one duplicate pair ready to merge. Running it twice changes
nothing: the sync is idempotent and every console change here is made only when missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.accounts.services.sync import sync_accounts
from quanwang.enterprise.accounts.services.team import move_account, remove_member, set_lead
from quanwang.enterprise.choices import AccountGrade, AccountStatus, TeamRole
from quanwang.enterprise.models import Account, AccountTeamMember

MANAGER_LOGIN = "account_manager"
ADMIN_LOGIN = "admin"
# The account_manager's book: at least this many accounts (topped up from their county).
BOOK_MIN, BOOK_TARGET, BOOK_MAX = 20, 30, 40
# The book holds this many of the city's accounts with the most members (what the grading
# ranks A/B), so the login sees every grade once the grading has run.
LARGEST = 6
HIERARCHIES = 3
DUPLICATE_SUFFIX = "-DUP"


def _book(staff: Staff) -> Any:
    return Account.objects.filter(
        team_members__staff=staff, team_members__role=TeamRole.LEAD, merged_into__isnull=True
    ).distinct()


def build_demo(*, say: Callable[[str], Any]) -> None:
    try:
        report = sync_accounts()
    except ServiceError as exc:
        say(_("Account file not synced: %(why)s") % {"why": exc.message})
        return
    say(
        _("Account file: %(listed)d enterprises, %(created)d new.")
        % {"listed": report.listed, "created": report.created}
    )
    users = get_user_model().objects
    admin = users.filter(username=ADMIN_LOGIN).first()
    staff = Staff.objects.filter(user__username=MANAGER_LOGIN).select_related("org_unit").first()
    if admin is None or staff is None:
        say(_("No account_manager login with a staff record: no account book built."))
        return
    _top_up(admin=admin, staff=staff)
    _largest(admin=admin, staff=staff)
    _trim(admin=admin, staff=staff)
    _hierarchies(admin=admin, staff=staff)
    duplicate = _duplicate(staff=staff)
    book = _book(staff)
    grades = {g: book.filter(grade=g).count() for g in AccountGrade.values}
    say(
        _("The account_manager login leads %(n)d accounts (A %(a)d, B %(b)d, C %(c)d).")
        % {"n": book.count(), "a": grades["A"], "b": grades["B"], "c": grades["C"]}
    )
    if duplicate is not None:
        say(
            _("Duplicate ready to merge: %(dup)s into %(kept)s.")
            % {
                "dup": duplicate.enterprise_id,
                "kept": duplicate.enterprise_id[: -len(DUPLICATE_SUFFIX)],
            }
        )


def _top_up(*, admin: Any, staff: Staff) -> None:
    """Lead more of the county's accounts, of every grade, until the book is big enough."""
    have = _book(staff).count()
    if have >= BOOK_MIN:
        return
    candidates = (
        Account.objects.filter(
            org_unit__path__startswith=staff.org_unit.path,
            status=AccountStatus.ACTIVE,
            active=True,
            merged_into__isnull=True,
        )
        .exclude(team_members__staff=staff, team_members__role=TeamRole.LEAD)
        .order_by("grade", "enterprise_id")
    )
    by_grade: dict[str, list[Account]] = {}
    for account in candidates[:500]:
        by_grade.setdefault(account.grade, []).append(account)
    # Deal the grades in turn so the book mixes A, B and C.
    picked: list[Account] = []
    while have + len(picked) < BOOK_TARGET and any(by_grade.values()):
        for grade in sorted(by_grade):
            if by_grade[grade] and have + len(picked) < BOOK_TARGET:
                picked.append(by_grade[grade].pop(0))
    for account in picked:
        set_lead(
            user=admin,
            enterprise_id=account.enterprise_id,
            employee_no=staff.employee_no,
            reason=_("Demo: accounts handed over to the account manager"),
        )


def _largest(*, admin: Any, staff: Staff) -> None:
    """Hand over the city's accounts with the most members not on the book yet, up to
    LARGEST of them."""
    city = staff.org_unit.path.split("/")[1:3]
    prefix = "/" + "/".join(city) + "/"
    book = _book(staff)
    largest = list(
        Account.objects.filter(
            org_unit__path__startswith=prefix,
            status=AccountStatus.ACTIVE,
            active=True,
            merged_into__isnull=True,
        ).order_by("-member_count", "-size", "enterprise_id")[:LARGEST]
    )
    for account in largest:
        # Over BOOK_MAX is fine here: `_trim` hands the smallest on afterwards.
        if book.filter(pk=account.pk).exists():
            continue
        set_lead(
            user=admin,
            enterprise_id=account.enterprise_id,
            employee_no=staff.employee_no,
            reason=_("Demo: accounts handed over to the account manager"),
        )


def _trim(*, admin: Any, staff: Staff) -> None:
    """A book over BOOK_MAX: its ungrouped accounts with the fewest members go to a colleague
    of the county."""
    book = _book(staff)
    extra = book.count() - BOOK_MAX
    if extra <= 0:
        return
    colleague = (
        Staff.objects.filter(org_unit=staff.org_unit, title=staff.title)
        .exclude(pk=staff.pk)
        .order_by("employee_no")
        .first()
    ) or Staff.objects.filter(org_unit=staff.org_unit).exclude(pk=staff.pk).first()
    if colleague is None:
        return
    smallest = (
        book.filter(parent__isnull=True, children__isnull=True)
        .exclude(enterprise_id__endswith=DUPLICATE_SUFFIX)
        .order_by("member_count", "size", "enterprise_id")[:extra]
    )
    for account in list(smallest):
        set_lead(
            user=admin,
            enterprise_id=account.enterprise_id,
            employee_no=colleague.employee_no,
            reason=_("Demo: accounts handed over to a colleague"),
        )
        # Handed over, not shared: the login's list shows the book only.
        remove_member(
            user=admin, enterprise_id=account.enterprise_id, employee_no=staff.employee_no
        )


def _hierarchies(*, admin: Any, staff: Staff) -> None:
    """A few group hierarchies in the book: the warehouse's, else made in the console."""
    book = list(_book(staff).order_by("grade", "-size", "enterprise_id"))
    heads = [a for a in book if Account.objects.filter(parent=a).exists()]
    if len(heads) >= HIERARCHIES:
        return
    loose = [a for a in book if a.parent_id is None and a not in heads]
    while len(heads) < HIERARCHIES and len(loose) >= 3:
        head, *branches = loose[:3]
        loose = loose[3:]
        for branch in branches:
            move_account(
                user=admin,
                enterprise_id=branch.enterprise_id,
                parent_enterprise_id=head.enterprise_id,
                reason=_("Demo: branch of the group"),
            )
        heads.append(head)


def _duplicate(*, staff: Staff) -> Account | None:
    """An old duplicate record of one of the book's accounts (same name and credit code),
    led by the same manager: the console's merge folds it in."""
    original = (
        (_book(staff).filter(parent__isnull=True).exclude(enterprise_id__endswith=DUPLICATE_SUFFIX))
        .order_by("grade", "enterprise_id")
        .first()
    )
    if original is None:
        return None
    duplicate, created = Account.objects.get_or_create(
        enterprise_id=f"{original.enterprise_id}{DUPLICATE_SUFFIX}",
        defaults={
            "name": original.name,
            "industry": original.industry,
            "size": original.size,
            "credit_code": original.credit_code,
            "org_unit": original.org_unit,
            "grid_id": original.grid_id,
            "grade": original.grade,
            "ownership": original.ownership,
            "account_manager": staff,
        },
    )
    if created:
        AccountTeamMember.objects.create(account=duplicate, staff=staff, role=TeamRole.LEAD)
    return duplicate if duplicate.status != AccountStatus.MERGED else None
