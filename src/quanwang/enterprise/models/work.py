"""Records of the enterprise work part: account managers' grade moves, the province's visit plan
by account grade (versioned) and visits to accounts (拜访记录).

A visit is scoped through its account: a staff grant reaches the accounts of its subtree, an
account manager's login (Reach.OWN) the accounts whose team it is on."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel
from quanwang.enterprise.choices import ManagerGrade

__all__ = ["EnterpriseVisit", "ManagerGradeChange", "VisitIntervalRuleSet", "VisitPurpose"]

#: The longest a visit plan may wait between two visits (a year).
MAX_INTERVAL_DAYS = 366
NOTE_MAX_LENGTH = 2000


class VisitPurpose(models.TextChoices):
    """Why a manager went (有计划拜访): what the visit was for, not what came of it."""

    RELATIONSHIP = "relationship", _("Relationship and care")
    NEEDS = "needs", _("Needs discovery")
    SOLUTION = "solution", _("Solution proposal")
    SERVICE = "service", _("Service follow-up")
    RENEWAL = "renewal", _("Contract renewal")
    COLLECTION = "collection", _("Payment collection")
    OTHER = "other", _("Other")


class ManagerGradeChange(ScopedModel):
    """One move of an account manager's grade (初级 / 中级 / 高级), with who moved it and why.
    The profile (AccountManagerProfile) holds the grade in force; these rows are its history,
    never changed once written. `from_grade` blank: the first grade given."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.ForeignKey(
        "core.Staff",
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="manager_grade_changes",
    )
    from_grade = models.CharField(
        _("from grade"), max_length=16, choices=ManagerGrade.choices, blank=True
    )
    to_grade = models.CharField(_("to grade"), max_length=16, choices=ManagerGrade.choices)
    effective_on = models.DateField(_("effective on"))
    reason = models.TextField(_("reason"), max_length=NOTE_MAX_LENGTH)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("manager grade change")
        verbose_name_plural = _("manager grade changes")
        ordering: ClassVar[list[str]] = ["staff", "-effective_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.staff_id}: {self.from_grade or '-'} → {self.to_grade}"


class VisitIntervalRuleSet(models.Model):
    """One version of the province's visit plan (ENTERPRISE_RULES): how many days may pass
    between two visits to an account of each grade. A version is never changed once saved:
    editing saves the next one, and the newest is in force. Province-wide, so not scoped:
    reading needs an ENTERPRISE_RULES grant anywhere, saving one at the root."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    interval_a = models.PositiveSmallIntegerField(
        _("days between visits, grade A"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS)],
    )
    interval_b = models.PositiveSmallIntegerField(
        _("days between visits, grade B"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS)],
    )
    interval_c = models.PositiveSmallIntegerField(
        _("days between visits, grade C"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS)],
    )
    # Accounts not graded yet: visited like C unless the province says otherwise.
    interval_ungraded = models.PositiveSmallIntegerField(
        _("days between visits, not graded"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS)],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit plan rule set")
        verbose_name_plural = _("visit plan rule sets")
        ordering: ClassVar[list[str]] = ["-version"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(
                    interval_a__gte=1,
                    interval_a__lte=MAX_INTERVAL_DAYS,
                    interval_b__gte=1,
                    interval_b__lte=MAX_INTERVAL_DAYS,
                    interval_c__gte=1,
                    interval_c__lte=MAX_INTERVAL_DAYS,
                    interval_ungraded__gte=1,
                    interval_ungraded__lte=MAX_INTERVAL_DAYS,
                ),
                name="visit_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class EnterpriseVisit(ScopedModel):
    """One visit to an account by a member of its team: why (purpose), whom they met (the
    account's key persons), what came of it and the next step, with an optional follow-up
    date that becomes a due item."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_VISIT
    scope_org_path: ClassVar[str | None] = "account__org_unit__path"
    scope_owner: ClassVar[str | None] = "account__team_members__staff__user"

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="visits",
    )
    visitor = models.ForeignKey(
        "core.Staff",
        verbose_name=_("visitor"),
        on_delete=models.PROTECT,
        related_name="enterprise_visits",
    )
    visited_on = models.DateField(_("visited on"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=VisitPurpose.choices)
    persons_met = models.ManyToManyField(
        "enterprise.KeyPerson",
        verbose_name=_("persons met"),
        blank=True,
        related_name="visits",
    )
    outcome = models.TextField(_("outcome"), max_length=NOTE_MAX_LENGTH)
    next_step = models.TextField(_("next step"), max_length=NOTE_MAX_LENGTH, blank=True)
    # The day the next step is due: it shows in the due list until a later visit is logged.
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    # The visit form's own key: a double tap or a retry of the same form logs one visit.
    idempotency_key = models.UUIDField(_("form key"))
    # The account it was logged for, kept when a merge moves the visit to the surviving one.
    logged_for = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("logged for account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("logged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise visit")
        verbose_name_plural = _("enterprise visits")
        ordering: ClassVar[list[str]] = ["-visited_on", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["visitor", "idempotency_key"], name="enterprise_visit_once_per_form"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "visited_on"], name="ent_visit_account_day"),
            models.Index(fields=["visitor", "visited_on"], name="ent_visit_visitor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}@{self.visited_on}"
