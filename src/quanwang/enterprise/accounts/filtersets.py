"""The account list's one filter definition: the console page, the API and the XLSX export."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from quanwang.core.filtersets import SearchFilterSet
from quanwang.enterprise.choices import AccountGrade, AccountStatus, Ownership
from quanwang.enterprise.models import Account

NO_GRADE = "none"


class AccountFilterSet(SearchFilterSet):
    search_fields = ("enterprise_id", "name", "credit_code")
    grade = django_filters.ChoiceFilter(
        label=_("Grade"),
        choices=[*AccountGrade.choices, (NO_GRADE, _("Not graded"))],
        method="filter_grade",
    )
    industry = django_filters.CharFilter(label=_("Industry"), max_length=40)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=AccountStatus.choices)
    ownership = django_filters.ChoiceFilter(label=_("Ownership"), choices=Ownership.choices)
    manager = django_filters.CharFilter(
        label=_("Account manager (employee no.)"),
        field_name="account_manager__employee_no",
        max_length=32,
    )
    grid = django_filters.CharFilter(label=_("Grid ID"), field_name="grid_id", max_length=40)
    active = django_filters.BooleanFilter(label=_("Still listed"))

    class Meta:
        model = Account
        fields = ("q", "grade", "industry", "status", "ownership", "manager", "grid", "active")

    def filter_grade(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(grade="" if value == NO_GRADE else value)
