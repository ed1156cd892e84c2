"""The store list's one filter definition: the console page, the API and the XLSX export."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import PartnerStage, StoreGrade, StoreType
from quanwang.channels.models import Store
from quanwang.core.filtersets import SearchFilterSet

NO_GRADE = "none"


class StoreFilterSet(SearchFilterSet):
    search_fields = ("store_id", "name", "grid_id")
    store_type = django_filters.ChoiceFilter(label=_("Type"), choices=StoreType.choices)
    grade = django_filters.ChoiceFilter(
        label=_("Grade"),
        choices=[*StoreGrade.choices, (NO_GRADE, _("Not graded"))],
        method="filter_grade",
    )
    partner_stage = django_filters.ChoiceFilter(
        label=_("Partner stage"), choices=PartnerStage.choices
    )
    within = django_filters.CharFilter(
        label=_("Within unit (code)"), method="filter_within", max_length=32
    )
    active = django_filters.BooleanFilter(label=_("Still listed"))

    class Meta:
        model = Store
        fields = ("q", "store_type", "grade", "partner_stage", "within", "active")

    def filter_grade(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(grade="" if value == NO_GRADE else value)

    def filter_within(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(org_unit__path__contains=f"/{value}/")
