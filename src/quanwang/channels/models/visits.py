"""Records of the visits part: the visit plan by grade, visits to stores on the four-point
checklist, the commitments made in them and the issues partners raise.

Each record is scoped through its store: a staff grant reaches the stores of its subtree, a
partner's login (Reach.OWN) the stores it is a partner of (Store.partners)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import StoreGrade
from quanwang.channels.visits.choices import (
    CommitmentSide,
    CommitmentStatus,
    IssueCategory,
    IssueSource,
    IssueStatus,
)
from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel

__all__ = ["Commitment", "PartnerIssue", "StoreVisit", "VisitPlanRule"]

#: The longest a visit plan may wait between two visits (a year).
MAX_INTERVAL_DAYS = 366
NOTE_MAX_LENGTH = 1000


class VisitPlanRule(ScopedModel):
    """How often a store of a grade is to be visited, as set by a unit (the province; a unit
    below may set its own, which then wins for its stores). `grade` blank: stores without a
    grade."""

    scope_resource: ClassVar[Resource] = Resource.CHANNEL_RULES
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    org_unit = models.ForeignKey(
        "core.OrgUnit",
        verbose_name=_("org unit"),
        on_delete=models.CASCADE,
        related_name="visit_plan_rules",
    )
    grade = models.CharField(_("grade"), max_length=16, choices=StoreGrade.choices, blank=True)
    interval_days = models.PositiveSmallIntegerField(
        _("days between visits"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS)],
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("visit plan rule")
        verbose_name_plural = _("visit plan rules")
        ordering: ClassVar[list[str]] = ["org_unit__path", "grade"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["org_unit", "grade"], name="visit_plan_rule_once"),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1, interval_days__lte=MAX_INTERVAL_DAYS),
                name="visit_plan_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_id}:{self.grade or '-'}={self.interval_days}"


class StoreVisit(ScopedModel):
    """One visit to a store, on the four-point checklist: 询近况 (how are things), 问新情 (new
    plans), 表支持 (our support), 问承诺 (their commitment)."""

    scope_resource: ClassVar[Resource] = Resource.STORE_VISIT
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    scope_owner: ClassVar[str | None] = "store__partners"

    store = models.ForeignKey(
        "channels.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="visits"
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        on_delete=models.PROTECT,
        related_name="store_visits",
    )
    visited_on = models.DateField(_("visited on"))
    how_are_things = models.TextField(_("How are things (询近况)"), max_length=NOTE_MAX_LENGTH)
    new_plans = models.TextField(_("New plans (问新情)"), max_length=NOTE_MAX_LENGTH)
    our_support = models.TextField(_("Our support (表支持)"), max_length=NOTE_MAX_LENGTH)
    their_commitment = models.TextField(_("Their commitment (问承诺)"), max_length=NOTE_MAX_LENGTH)
    # The visit form's own key: a double tap or a retry of the same form logs one visit.
    idempotency_key = models.UUIDField(_("form key"))
    created_at = models.DateTimeField(_("logged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("store visit")
        verbose_name_plural = _("store visits")
        ordering: ClassVar[list[str]] = ["-visited_on", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["visitor", "idempotency_key"], name="store_visit_once_per_form"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["store", "visited_on"], name="store_visit_store_day"),
            models.Index(fields=["visited_on"], name="store_visit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}@{self.visited_on}"


class Commitment(ScopedModel):
    """A promise made in a visit, by our side or the partner: what, by when, and how it
    ended (kept, broken or dropped, by whom and when). Closing is final."""

    scope_resource: ClassVar[Resource] = Resource.STORE_VISIT
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    scope_owner: ClassVar[str | None] = "store__partners"

    visit = models.ForeignKey(
        StoreVisit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="commitments",
    )
    # The visit's store, kept here so that lists and scoping need no join through the visit.
    store = models.ForeignKey(
        "channels.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="commitments",
    )
    side = models.CharField(_("committed by"), max_length=8, choices=CommitmentSide.choices)
    what = models.CharField(_("what was promised"), max_length=300)
    due_on = models.DateField(_("due by"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CommitmentStatus.choices,
        default=CommitmentStatus.OPEN,
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_note = models.CharField(_("closing note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering: ClassVar[list[str]] = ["due_on", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # An open commitment has no closer; a closed one has both who and when.
            models.CheckConstraint(
                condition=(
                    Q(status=CommitmentStatus.OPEN, closed_at__isnull=True, closed_by__isnull=True)
                    | (
                        ~Q(status=CommitmentStatus.OPEN)
                        & Q(closed_at__isnull=False, closed_by__isnull=False)
                    )
                ),
                name="commitment_closed_by_whom_when",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "due_on"], name="commitment_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.side}: {self.what}"


class PartnerIssue(ScopedModel):
    """An issue a partner has with us (问题), raised by our staff during a visit or by the
    partner from its own page, followed until resolved: open → in progress → resolved, each
    step with who and when, and how it was resolved."""

    scope_resource: ClassVar[Resource] = Resource.PARTNER_ISSUE
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    scope_owner: ClassVar[str | None] = "store__partners"

    store = models.ForeignKey(
        "channels.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="issues"
    )
    visit = models.ForeignKey(
        StoreVisit,
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
    )
    category = models.CharField(_("category"), max_length=16, choices=IssueCategory.choices)
    description = models.TextField(_("description"), max_length=NOTE_MAX_LENGTH)
    source = models.CharField(_("raised by"), max_length=16, choices=IssueSource.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised at"))
    status = models.CharField(
        _("status"), max_length=16, choices=IssueStatus.choices, default=IssueStatus.OPEN
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken up by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("taken up at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("how it was resolved"), max_length=NOTE_MAX_LENGTH, blank=True)
    # The partner's form's own key (issues raised in a visit share the visit's): a retry of
    # the same form raises one issue.
    idempotency_key = models.UUIDField(_("form key"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner issue")
        verbose_name_plural = _("partner issues")
        ordering: ClassVar[list[str]] = ["raised_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["raised_by", "idempotency_key"], name="partner_issue_once_per_form"
            ),
            models.CheckConstraint(
                condition=Q(status=IssueStatus.OPEN)
                | Q(status=IssueStatus.IN_PROGRESS, started_at__isnull=False)
                | Q(status=IssueStatus.RESOLVED, resolved_at__isnull=False),
                name="partner_issue_step_dated",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "raised_at"], name="partner_issue_status_age"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.store_id}"
