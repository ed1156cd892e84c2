"""The monthly re-grade: every store of the warehouse scored and graded in one pass
(channels.stores.grading), then written as that month's history with the reason of each grade.

Idempotent per month: a re-run writes the same grades over the month's rows (one row per store
and month, a unique constraint), and two runs at once take turns on the month's GradingRun row.
The store file's current grade (Store.grade) follows the newest graded month.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import duckdb
import ibis
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.choices import StoreGrade
from quanwang.channels.models import GradingRuleSet, GradingRun, Store, StoreGrading
from quanwang.channels.stores.grading import TABLES, Rules, reason, scored
from quanwang.channels.stores.rules import current_rule_set, may_set_rules
from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.data.warehouse import Warehouse, quote
from quanwang.insight.months import Month, MonthError

Progress = Callable[[str], None]
# How far back a store's previous grade is looked for.
PREVIOUS_GRADE_MONTHS = 12
WRITE_BATCH = 1000


def parse_month(month: str) -> Month:
    try:
        return Month.parse(month)
    except MonthError as exc:
        raise ServiceError(str(exc), field="month") from exc


def newest_sales_month(*, warehouse: Warehouse | None = None) -> str | None:
    """The newest month of the warehouse's store_sales, or None when it has none."""
    store = warehouse or Warehouse()
    con = duckdb.connect()
    try:
        row = con.execute(f"SELECT max(month) FROM {store.relation('store_sales')}").fetchone()
    finally:
        con.close()
    return str(row[0]) if row and row[0] else None


def _sales_months(store: Warehouse) -> list[str]:
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT month FROM {store.relation('store_sales')} "
            "ORDER BY month DESC LIMIT 6"
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def _graded_rows(store: Warehouse, month: Month, rules: Rules) -> list[dict[str, Any]]:
    con = ibis.duckdb.connect()
    tables = {}
    for name in TABLES:
        # A view of the current version, or of an empty typed table before any import.
        con.raw_sql(
            f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT * FROM {store.relation(name)}"
        )
        tables[name] = con.table(name)
    return scored(tables, month=month, rules=rules).order_by("store_id").to_pyarrow().to_pylist()


def regrade(
    *,
    month: str,
    actor: Any = None,
    warehouse: Warehouse | None = None,
    rule_set: GradingRuleSet | None = None,
    progress: Progress | None = None,
) -> GradingRun:
    """Grade every store of the warehouse for `month` under the rule set in force (or
    `rule_set`), and keep it as the month's history. `actor` None is the system (the CLI,
    the nightly pipeline); a user needs CHANGE on the channel rules at the province."""
    say = progress or (lambda _stage: None)
    if actor is not None and not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    parsed = parse_month(month)
    store = warehouse or Warehouse()
    if store.current_file("stores") is None:
        raise ServiceError(_("No store file was imported yet: import the stores table first."))
    months = _sales_months(store)
    if str(parsed) not in months:
        raise ServiceError(
            _("The warehouse has no store sales for %(month)s (newest months: %(months)s).")
            % {"month": parsed, "months": "、".join(months) or "-"},
            field="month",
        )
    chosen = rule_set or current_rule_set()
    rules = Rules.of(chosen)
    began = time.monotonic()
    say(_("Scoring the stores"))
    rows = _graded_rows(store, parsed, rules)
    say(_("Writing the grades"))
    return _write(
        month=str(parsed), rows=rows, rules=rules, rule_set=chosen, actor=actor, began=began
    )


def _previous_grades(month: str, store_pks: list[int]) -> dict[int, str]:
    since = str(Month.parse(month).shift(-PREVIOUS_GRADE_MONTHS))
    earlier = (
        StoreGrading.objects.filter(month__lt=month, month__gte=since)
        .order_by("month")
        .values_list("store_id", "grade")
    )
    wanted = set(store_pks)
    # Later months come last and win: each store's newest earlier grade.
    return {pk: grade for pk, grade in earlier if pk in wanted}


def _write(
    *,
    month: str,
    rows: list[dict[str, Any]],
    rules: Rules,
    rule_set: GradingRuleSet,
    actor: Any,
    began: float,
) -> GradingRun:
    cutoffs = {"key_min": rules.key_min, "anchor_min": rules.anchor_min}
    with transaction.atomic():
        # The month's row is the lock: a second run waits here until the first commits.
        run, _created = GradingRun.objects.select_for_update().get_or_create(
            month=month, defaults={"rule_set": rule_set}
        )
        pks = dict(
            Store.objects.filter(store_id__in=[r["store_id"] for r in rows]).values_list(
                "store_id", "pk"
            )
        )
        before = _previous_grades(month, list(pks.values()))
        gradings = [
            StoreGrading(
                store_id=pks[row["store_id"]],
                month=month,
                grade=row["grade"],
                previous_grade=before.get(pks[row["store_id"]], ""),
                score=float(row["score"]),
                rule_set=rule_set,
                criteria=reason(row, rules),
                cutoffs=cutoffs,
            )
            for row in rows
            if row["store_id"] in pks
        ]
        StoreGrading.objects.bulk_create(
            gradings,
            batch_size=WRITE_BATCH,
            update_conflicts=True,
            unique_fields=["store", "month"],
            update_fields=[
                "grade",
                "previous_grade",
                "score",
                "rule_set",
                "criteria",
                "cutoffs",
                "graded_at",
            ],
        )
        graded = [g.store_id for g in gradings]
        # A store graded by an earlier run of the month that the warehouse no longer lists.
        StoreGrading.objects.filter(month=month).exclude(store_id__in=graded).delete()
        if not GradingRun.objects.filter(month__gt=month).exists():
            _set_current_grades(gradings)
        counts = Counter(g.grade for g in gradings)
        run.rule_set = rule_set
        run.stores = len(gradings)
        run.by_grade = {str(grade): counts.get(grade, 0) for grade in StoreGrade}
        run.ran_by = actor if getattr(actor, "pk", None) else None
        run.ran_at = timezone.now()
        run.seconds = round(time.monotonic() - began, 3)
        run.save()
    return run


def _set_current_grades(gradings: list[StoreGrading]) -> None:
    by_grade: dict[str, list[int]] = {}
    for g in gradings:
        by_grade.setdefault(g.grade, []).append(g.store_id)
    for grade, pks in by_grade.items():
        for start in range(0, len(pks), WRITE_BATCH):
            batch = pks[start : start + WRITE_BATCH]
            Store.objects.filter(pk__in=batch).exclude(grade=grade).update(grade=grade)
