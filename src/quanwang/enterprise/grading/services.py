"""Managers' qualitative scores and the readers of the grades (history, the month's grading).

A score is saved by whoever may change the account (ENTERPRISE_ACCOUNT CHANGE: its team for
an account manager, the unit's managers above); every score is kept and the newest counts in
the next grading. A form's idempotency key makes a second click or a retry save nothing more.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.grading.choices import QUALITATIVE, Criterion
from quanwang.enterprise.models import Account, AccountGrading, QualitativeScore

COMMENT_MIN = 4


def account_for(*, user: Any, pk: int, action: Action = Action.VIEW) -> Account:
    found = Account.objects.restrict(user, action).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def score_account(
    *,
    user: Any,
    account_pk: int,
    criterion: str,
    score: int,
    comment: str,
    scored_on: date | None = None,
    idempotency_key: str | None = None,
) -> QualitativeScore:
    """Save a manager's score of one qualitative criterion (0–100) with a comment."""
    account = account_for(user=user, pk=account_pk, action=Action.CHANGE)
    if criterion not in {str(c) for c in QUALITATIVE}:
        raise ServiceError(
            _("%(criterion)s is not a qualitative criterion; use one of %(criteria)s.")
            % {
                "criterion": criterion,
                "criteria": "、".join(str(Criterion(c).label) for c in QUALITATIVE),
            },
            field="criterion",
        )
    if not 0 <= score <= 100:
        raise ServiceError(_("A score lies between 0 and 100."), field="score")
    text = comment.strip()
    if len(text) < COMMENT_MIN:
        raise ServiceError(
            _("Say why in a comment of at least %(n)d characters.") % {"n": COMMENT_MIN},
            field="comment",
        )
    key = (idempotency_key or "").strip() or None
    if key is not None:
        done = QualitativeScore.objects.filter(idempotency_key=key).first()
        if done is not None:
            return done
    try:
        with transaction.atomic():
            return QualitativeScore.objects.create(
                account=account,
                criterion=criterion,
                score=score,
                comment=text,
                scored_by=user,
                scored_on=scored_on or timezone.localdate(),
                idempotency_key=key,
            )
    except IntegrityError:  # the same key saved at the same moment by the other click
        return QualitativeScore.objects.get(idempotency_key=key)


def qualitative_history(*, user: Any, account: Account) -> QuerySet[QualitativeScore]:
    return (
        QualitativeScore.objects.restrict(user)
        .filter(account=account)
        .select_related("scored_by")
        .order_by("-scored_on", "-created_at", "-id")
    )


def newest_scores(*, user: Any, account: Account) -> dict[str, QualitativeScore]:
    found: dict[str, QualitativeScore] = {}
    for row in qualitative_history(user=user, account=account):
        found.setdefault(row.criterion, row)
    return found


def grade_history(*, user: Any, account: Account) -> QuerySet[AccountGrading]:
    return (
        AccountGrading.objects.restrict(user)
        .filter(account=account)
        .select_related("rule_set")
        .order_by("-month")
    )


def newest_grading(*, user: Any, account: Account) -> AccountGrading | None:
    return grade_history(user=user, account=account).first()
