"""What the operations database knows about each account that the switching cost and churn
risk read: care moments done for its key persons and visits logged in the 12 months up to the
graded month's end, and the last visit. Read once per run and handed to the features
expression as a small table (the same on DuckDB and Spark)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pyarrow as pa  # type: ignore[import-untyped]
from django.apps import apps

from quanwang.enterprise.grading.features import OPERATIONS_SCHEMA
from quanwang.insight.months import Month

WINDOW_DAYS = 365


def _model(name: str) -> type | None:
    try:
        return apps.get_model("enterprise", name)
    except LookupError:  # that part's records are not there yet
        return None


def operations_rows(*, month: Month) -> pa.Table:
    """Per enterprise_id with any: care_12m, visits_12m, last_visit (up to the month's end)."""
    end = month.last_day
    since = end - timedelta(days=WINDOW_DAYS)
    care: Counter[str] = Counter()
    visits: Counter[str] = Counter()
    last: dict[str, date] = {}
    moment = _model("CareMoment")
    if moment is not None:
        done = moment.objects.filter(  # type: ignore[attr-defined]
            status="done", date__gt=since, date__lte=end
        )
        # A moment names its account, or else counts for every account the person is on.
        for enterprise_id in done.filter(account__isnull=False).values_list(
            "account__enterprise_id", flat=True
        ):
            care[enterprise_id] += 1
        for enterprise_id in done.filter(account__isnull=True).values_list(
            "person__roles__account__enterprise_id", flat=True
        ):
            if enterprise_id:
                care[enterprise_id] += 1
    visit = _model("EnterpriseVisit")
    if visit is not None:
        for enterprise_id, visited_on in visit.objects.filter(  # type: ignore[attr-defined]
            visited_on__lte=end
        ).values_list("account__enterprise_id", "visited_on"):
            if visited_on > since:
                visits[enterprise_id] += 1
            if enterprise_id not in last or visited_on > last[enterprise_id]:
                last[enterprise_id] = visited_on
    ids = sorted(set(care) | set(visits) | set(last))
    return pa.table(
        {
            "enterprise_id": pa.array(ids, pa.string()),
            "care_12m": pa.array([care.get(i, 0) for i in ids], pa.int64()),
            "visits_12m": pa.array([visits.get(i, 0) for i in ids], pa.int64()),
            "last_visit": pa.array([last.get(i) for i in ids], pa.date32()),
        },
        schema=OPERATIONS_SCHEMA.to_pyarrow(),
    )
