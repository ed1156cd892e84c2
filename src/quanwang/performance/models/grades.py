"""Records of performance.grades: staff grades 三级十档, the moves the rules propose, the history
of every move, and the versioned rules (see quanwang.performance.grades.rules)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.querysets import ScopedModel
from quanwang.performance.choices import PeriodKind
from quanwang.performance.grades.choices import GradeLevel, MoveDirection, MoveStatus

__all__ = ["GradeHistory", "GradeMove", "GradeRuleSet", "StaffGrade"]

_STEP_CHECK = models.Q(step__gte=1, step__lte=10)
_LEVEL_CHECK = models.Q(level__gte=1, level__lte=3)


class GradeRuleSet(ScopedModel):
    """One version of the promotion and demotion rules and the coefficients, valid from a day
    until the next version's day. Kept by the province (STAFF_GRADE CHANGE at the root); read
    by everyone they move (fair and transparent). Never edited: a change is a new version."""

    scope_resource: ClassVar[Resource] = Resource.STAFF_GRADE
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    version = models.PositiveIntegerField(_("version"), unique=True)
    valid_from = models.DateField(_("valid from"), unique=True)
    # The unit that keeps the rules: the root of the org tree.
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("kept by"), on_delete=models.PROTECT, related_name="+"
    )
    period_kind = models.CharField(
        _("appraisal period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.QUARTER
    )
    promote_at = models.DecimalField(
        _("promotion at a result of at least"), max_digits=6, decimal_places=4
    )
    promote_periods = models.PositiveSmallIntegerField(_("for consecutive periods"))
    promote_steps = models.PositiveSmallIntegerField(_("steps up"))
    demote_below = models.DecimalField(
        _("demotion at a result under"), max_digits=6, decimal_places=4
    )
    demote_periods = models.PositiveSmallIntegerField(_("for consecutive periods (demotion)"))
    demote_steps = models.PositiveSmallIntegerField(_("steps down"))
    lowest_level = models.PositiveSmallIntegerField(_("lowest level"), choices=GradeLevel.choices)
    lowest_step = models.PositiveSmallIntegerField(_("lowest step"))
    highest_level = models.PositiveSmallIntegerField(_("highest level"), choices=GradeLevel.choices)
    highest_step = models.PositiveSmallIntegerField(_("highest step"))
    # {"1-1": "0.80", …, "3-10": "1.38"}: the incentive coefficient of each level and step.
    coefficients = models.JSONField(_("coefficients"), default=dict)
    note = models.CharField(_("why"), max_length=300, blank=True)
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
        verbose_name = _("grade rule set")
        verbose_name_plural = _("grade rule sets")
        ordering: ClassVar[list[str]] = ["-valid_from", "-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.valid_from}"


class StaffGrade(ScopedModel):
    """A staff member's grade now. Read by the units above them (STAFF_GRADE VIEW) and by the
    staff member (Reach.OWN: their own card only)."""

    scope_resource: ClassVar[Resource] = Resource.STAFF_GRADE
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.OneToOneField(
        Staff, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="grade"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=GradeLevel.choices)
    step = models.PositiveSmallIntegerField(_("step"))
    # The day the grade took effect (coefficient_on reads the history by this day).
    since = models.DateField(_("since"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("staff grade")
        verbose_name_plural = _("staff grades")
        ordering: ClassVar[list[str]] = ["staff__org_unit__path", "staff__employee_no"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=_LEVEL_CHECK & _STEP_CHECK, name="staff_grade_rung"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.level}-{self.step}"


class GradeMove(ScopedModel):
    """A move the rules propose for one staff member after one appraisal period, with its
    reasons (which periods, which results, which rule), decided by a manager above them.
    One per staff member and period: re-proposing updates a pending one in place."""

    scope_resource: ClassVar[Resource] = Resource.STAFF_GRADE
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.ForeignKey(
        Staff, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(_("appraisal period"), max_length=8)
    direction = models.CharField(_("move"), max_length=8, choices=MoveDirection.choices)
    from_level = models.PositiveSmallIntegerField(_("from level"), choices=GradeLevel.choices)
    from_step = models.PositiveSmallIntegerField(_("from step"))
    to_level = models.PositiveSmallIntegerField(_("to level"), choices=GradeLevel.choices)
    to_step = models.PositiveSmallIntegerField(_("to step"))
    # Proposal.reasons(): the rule, its version and threshold, the periods and their results.
    reasons = models.JSONField(_("reasons"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=MoveStatus.choices, default=MoveStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("grade move")
        verbose_name_plural = _("grade moves")
        ordering: ClassVar[list[str]] = ["-period", "staff__org_unit__path", "staff__employee_no"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["staff", "period"], name="one_grade_move_per_period"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "period"], name="grade_move_status_period"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.period} {self.direction}"


class GradeHistory(ScopedModel):
    """Every grade a staff member was given: the first placement and each approved move, with
    from, to, the reasons, who approved and when, and the day it took effect."""

    scope_resource: ClassVar[Resource] = Resource.STAFF_GRADE
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.ForeignKey(
        Staff, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="+"
    )
    move = models.OneToOneField(
        GradeMove,
        verbose_name=_("move"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="history",
    )
    # The appraisal period of the move; blank for a placement (runs count from the next one).
    period = models.CharField(_("appraisal period"), max_length=8, blank=True)
    from_level = models.PositiveSmallIntegerField(
        _("from level"), null=True, blank=True, choices=GradeLevel.choices
    )
    from_step = models.PositiveSmallIntegerField(_("from step"), null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(_("to level"), choices=GradeLevel.choices)
    to_step = models.PositiveSmallIntegerField(_("to step"))
    reasons = models.JSONField(_("reasons"), default=dict)
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    effective_on = models.DateField(_("effective from"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grade history")
        verbose_name_plural = _("grade history")
        ordering: ClassVar[list[str]] = ["-effective_on", "-pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["staff", "effective_on"], name="grade_history_staff_day"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} → {self.to_level}-{self.to_step} {self.effective_on}"
