"""Enumerations shared by the enterprise app's parts; a part's own live in <part>/choices.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountGrade(models.TextChoices):
    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")
    # Folded into another account by a merge (enterprise.accounts): kept with its history.
    MERGED = "merged", _("Merged")


class Ownership(models.TextChoices):
    """Who owns an account (the seeds' 片警 + 刑警)."""

    # 片警: the regional account manager of the account's grid or county.
    REGIONAL = "regional", _("Regional owner (片警)")
    # 刑警: a province project team, for industry and very large accounts.
    PROJECT = "project", _("Province project team (刑警)")


class ManagerGrade(models.TextChoices):
    JUNIOR = "junior", _("Junior account manager")
    MIDDLE = "middle", _("Middle account manager")
    SENIOR = "senior", _("Senior account manager")


class TeamRole(models.TextChoices):
    LEAD = "lead", _("Lead account manager")
    SUPPORT = "support", _("Supporting account manager")
    SOLUTION = "solution", _("Solution manager")
    PRODUCT = "product", _("Product manager")
    PROJECT = "project", _("Project team member")


class PersonRole(models.TextChoices):
    """A key person's role on one account (关键人)."""

    DECISION_MAKER = "decision", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    FINANCE = "finance", _("Finance")
    IT = "it", _("IT")


class ServiceLevel(models.TextChoices):
    """The four levels of the relationship, lowest first."""

    RESPONSIVE = "responsive", _("Responsive service")
    PROACTIVE = "proactive", _("Proactive service")
    SOLUTION = "solution", _("Whole-solution design")
    RELATIONSHIP = "relationship", _("Relationship marketing")
