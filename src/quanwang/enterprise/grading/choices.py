"""Enumerations of the grading part: the grading criteria, switching-cost components, churn-risk
signals and the actions each service level implies."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Criterion(models.TextChoices):
    """A criterion of the A/B/C grading (the seeds' key-account selection criteria)."""

    # Quantitative: computed from the warehouse (grading.features).
    REVENUE = "revenue", _("Revenue")
    MEMBERS = "members", _("Members")
    GROWTH = "growth", _("Revenue growth")
    VALUE_ADDED = "value_added", _("Value-added potential")
    SATISFACTION = "satisfaction", _("Satisfaction")
    # Qualitative: scored by managers with a comment (QualitativeScore).
    COOPERATION = "cooperation", _("Willingness to cooperate")
    POTENTIAL = "potential", _("Development potential")
    STRATEGIC = "strategic", _("Strategic importance")


QUANTITATIVE = (
    Criterion.REVENUE,
    Criterion.MEMBERS,
    Criterion.GROWTH,
    Criterion.VALUE_ADDED,
    Criterion.SATISFACTION,
)
QUALITATIVE = (Criterion.COOPERATION, Criterion.POTENTIAL, Criterion.STRATEGIC)


class SwitchingComponent(models.TextChoices):
    """An observable way of raising an account's switching cost (the seeds' 17 ways)."""

    AGREEMENT = "agreement", _("Agreements in force")
    BUNDLE = "bundle", _("Bundled products")
    PREPAID = "prepaid", _("Prepayment (趸交)")
    MEMBERS_ON_NET = "members_on_net", _("Members on-net")
    PRODUCTS = "products", _("Products held")
    TENURE = "tenure", _("Tenure")
    CARE = "care", _("Care received")
    VISITS = "visits", _("Planned visits received")


class RiskSignal(models.TextChoices):
    """A sign that an account may leave."""

    MEMBERS_LEAVING = "members_leaving", _("Members leaving")
    REVENUE_FALLING = "revenue_falling", _("Revenue falling")
    COMPETITOR_RISING = "competitor_rising", _("Competitor contact rising")
    CONTRACT_ENDING = "contract_ending", _("Contract ending soon")
    NO_VISIT = "no_visit", _("No visit for long")


class ServiceAction(models.TextChoices):
    """What a service level implies the account team does."""

    ANSWER_REQUESTS = "answer_requests", _("Answer requests and orders within the promised time")
    BILLING_OVERVIEW = "billing_overview", _("Send the monthly billing overview")
    SCHEDULED_VISITS = "scheduled_visits", _("Visit on the plan of the grade")
    NEEDS_REVIEW = "needs_review", _("Review the account's needs every quarter")
    SOLUTION_DESIGN = "solution_design", _("Design whole solutions with the solution manager")
    INDUSTRY_PRODUCTS = "industry_products", _("Offer the industry's standard products")
    KEY_PERSON_CARE = "key_person_care", _("Care for the key persons at the moments that matter")
    EXECUTIVE_MEETINGS = "executive_meetings", _("Hold executive meetings twice a year")
    GREEN_CHANNEL = "green_channel", _("Serve through the green channel")
    CLUB_EVENTS = "club_events", _("Invite to the club and its events")
