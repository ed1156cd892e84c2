"""One filter definition per list: the console page, the API and the export all use it."""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import AuditAction, JobKind, JobStatus, OrgLevel
from quanwang.core.models import AuditRecord, Job, OrgUnit, Staff


class SearchFilterSet(django_filters.FilterSet):
    search_fields: ClassVar[tuple[str, ...]] = ()
    q = django_filters.CharFilter(label=_("Search"), method="search", max_length=100)

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        q = Q()
        for field in self.search_fields:
            q |= Q(**{f"{field}__icontains": value})
        return queryset.filter(q)


class OrgUnitFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "name_en")
    level = django_filters.ChoiceFilter(label=_("Level"), choices=OrgLevel.choices)
    within = django_filters.CharFilter(
        label=_("Within unit (code)"), method="filter_within", max_length=32
    )

    class Meta:
        model = OrgUnit
        fields = ("q", "level", "within")

    def filter_within(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(path__contains=f"/{value}/")


class StaffFilterSet(SearchFilterSet):
    search_fields = ("employee_no", "name", "title")
    org_unit = django_filters.CharFilter(
        label=_("Within unit (code)"), method="filter_within", max_length=32
    )

    class Meta:
        model = Staff
        fields = ("q", "org_unit")

    def filter_within(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(org_unit__path__contains=f"/{value}/")


class JobFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=JobKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=JobStatus.choices)

    class Meta:
        model = Job
        fields = ("kind", "status")


class AuditRecordFilterSet(SearchFilterSet):
    search_fields = ("actor_username", "target_repr", "reason")
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    since = django_filters.DateFilter(
        label=_("From date"), field_name="created_at", lookup_expr="date__gte"
    )
    until = django_filters.DateFilter(
        label=_("To date"), field_name="created_at", lookup_expr="date__lte"
    )

    class Meta:
        model = AuditRecord
        fields = ("q", "action", "since", "until")
