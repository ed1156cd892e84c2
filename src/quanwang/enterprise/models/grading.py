"""Records of the enterprise grading part: the province's versioned grading rules, managers'
qualitative scores, the monthly grading run and each account's grade of a month with its
explanation (enterprise.grading)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel
from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import QUALITATIVE

__all__ = ["AccountGrading", "GradingRuleSet", "GradingRun", "QualitativeScore"]

_ACCOUNT_PATH = "account__org_unit__path"
_ACCOUNT_TEAM = "account__team_members__staff__user"


class GradingRuleSet(models.Model):
    """One version of a province's account-grading rules (like channels' store rules). Never
    changed once saved: editing saves the next version of the province, and each month's
    grades name the version they used. The newest version of a province is in force for its
    accounts.

    Weights are whole percentages per criterion that sum to 100; each criterion scores 0–100
    points, so an account's score is 0–100 (enterprise.grading.rules). Read by everyone with
    an ENTERPRISE_RULES grant; saved only with the grant at the root (the province)."""

    # The province (root org unit) the rules apply to.
    province = models.ForeignKey(
        "core.OrgUnit",
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        related_name="enterprise_rule_sets",
    )
    version = models.PositiveIntegerField(_("version"))
    # {criterion: weight in %}, every Criterion present.
    weights = models.JSONField(_("weights (%)"), default=dict)
    # {quantitative criterion: [figure worth 0 points, figure worth 100 points]}: points are
    # linear between them and capped, so a figure's points and what would move it up are exact.
    scales = models.JSONField(_("scales"), default=dict)
    # A score at or above a_min is grade A; at or above b_min grade B; else C.
    a_min = models.PositiveSmallIntegerField(_("grade A from score"))
    b_min = models.PositiveSmallIntegerField(_("grade B from score"))
    # Points of a qualitative criterion no manager has scored yet (neutral by default).
    qualitative_default = models.PositiveSmallIntegerField(_("qualitative points unscored"))
    # {grade: ServiceLevel} and {ServiceLevel: [ServiceAction, …]}.
    service_by_grade = models.JSONField(_("service level by grade"), default=dict)
    actions_by_level = models.JSONField(_("actions by service level"), default=dict)
    note = models.CharField(_("note"), max_length=300, blank=True)
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
        verbose_name = _("account grading rule set")
        verbose_name_plural = _("account grading rule sets")
        ordering: ClassVar[list[str]] = ["province", "-version"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["province", "version"], name="enterprise_rule_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class QualitativeScore(ScopedModel):
    """A manager's score (0–100) of one qualitative criterion of an account, with a comment.
    Every score is kept; the newest (scored_on, then saved) counts in the grading."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = _ACCOUNT_TEAM

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="qualitative_scores",
    )
    criterion = models.CharField(
        _("criterion"),
        max_length=16,
        choices=[(c.value, c.label) for c in QUALITATIVE],
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    comment = models.CharField(_("comment"), max_length=500)
    scored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("scored by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scored_on = models.DateField(_("scored on"))
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)
    # The form's key: a second click or a retry of the same form saves nothing more.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, null=True, blank=True, unique=True
    )

    class Meta:
        verbose_name = _("qualitative score")
        verbose_name_plural = _("qualitative scores")
        ordering: ClassVar[list[str]] = ["account", "criterion", "-scored_on", "-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "criterion"], name="enterprise_qual_account")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.criterion}: {self.score}"


class GradingRun(models.Model):
    """The grading of one month (channels' GradingRun for accounts): when, by whom, how many of
    each grade, under which versions. One row a month, locked while a run writes, so two runs
    at once take turns."""

    month = models.CharField(_("month"), max_length=7, unique=True)
    accounts = models.PositiveIntegerField(_("accounts graded"), default=0)
    by_grade = models.JSONField(_("accounts by grade"), default=dict)
    # {province code: rule set version}
    versions = models.JSONField(_("rule set versions"), default=dict)
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("run by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ran_at = models.DateTimeField(_("run at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    # How many times the month was graded (a re-run rewrites the same rows).
    runs = models.PositiveIntegerField(_("runs"), default=0)

    class Meta:
        verbose_name = _("account grading run")
        verbose_name_plural = _("account grading runs")
        ordering: ClassVar[list[str]] = ["-month"]

    def __str__(self) -> str:
        return self.month


class AccountGrading(ScopedModel):
    """An account's grade for one month with its explanation: each criterion's figure, points,
    weight and contribution (they add up to the score exactly), the thresholds, and what would
    move the account up. One row per account and month: a re-run rewrites it."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = _ACCOUNT_TEAM

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="gradings",
    )
    month = models.CharField(_("month"), max_length=7)
    grade = models.CharField(_("grade"), max_length=1, choices=AccountGrade.choices)
    previous_grade = models.CharField(
        _("previous grade"), max_length=1, choices=AccountGrade.choices, blank=True
    )
    # Σ contribution, exact to 4 decimals (points have 2, weights are whole percents).
    score = models.DecimalField(_("score"), max_digits=7, decimal_places=4)
    # {criterion: {"value": figure or null, "points": 0-100, "weight": %, "contribution":
    #  points × weight / 100, "source": "warehouse" | "manager" | "default"}}
    contributions = models.JSONField(_("contributions"), default=dict)
    # {"a_min": …, "b_min": …}
    thresholds = models.JSONField(_("thresholds"), default=dict)
    # The smallest change of one criterion that reaches the next grade, per criterion that can
    # (enterprise.grading.scoring.move_up); empty for grade A.
    move_up = models.JSONField(_("what would move it up"), default=list)
    rule_set = models.ForeignKey(
        GradingRuleSet,
        verbose_name=_("rule set"),
        on_delete=models.PROTECT,
        related_name="gradings",
    )
    rule_set_version = models.PositiveIntegerField(_("rule set version"))
    service_level = models.CharField(
        _("service level"), max_length=16, choices=ServiceLevel.choices
    )
    graded_at = models.DateTimeField(_("graded at"), auto_now=True)

    class Meta:
        verbose_name = _("account grading")
        verbose_name_plural = _("account gradings")
        ordering: ClassVar[list[str]] = ["-month", "account_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["account", "month"], name="enterprise_one_grade_a_month"
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["month", "grade"], name="enterprise_grading_month")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month}: {self.grade}"
