"""The monthly re-grade: the features of every account (grading.features, on DuckDB or Spark),
graded under its province's rules in force with the newest qualitative scores, kept as Parquet
(grading.kept) and written as the month's AccountGrading rows with their explanation.

Idempotent per month: a re-run writes the same rows over the month's (one per account and
month), and two runs at once take turns on the month's GradingRun row (select_for_update).
Account.grade and Account.service_level follow the newest graded month.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.choices import AccountGrade
from quanwang.enterprise.grading import kept
from quanwang.enterprise.grading.grades import Graded, Rules, figures_of, grade_account
from quanwang.enterprise.grading.operations import operations_rows
from quanwang.enterprise.grading.rules import (
    current_rule_set,
    may_set_rules,
    province_of,
    provinces,
)
from quanwang.enterprise.models import (
    Account,
    AccountGrading,
    GradingRun,
    QualitativeScore,
)
from quanwang.insight.choices import Engine
from quanwang.insight.months import Month, MonthError

Progress = Callable[[str], None]
WRITE_BATCH = 2000


def parse_month(month: str) -> Month:
    try:
        return Month.parse(month)
    except MonthError as exc:
        raise ServiceError(str(exc), field="month") from exc


def newest_qualitative() -> dict[int, dict[str, int]]:
    """account pk → criterion → the newest score (scored_on, then saved, counts)."""
    found: dict[int, dict[str, int]] = {}
    rows = QualitativeScore.objects.order_by(
        "account_id", "criterion", "-scored_on", "-created_at", "-id"
    ).values_list("account_id", "criterion", "score")
    for account_id, criterion, score in rows:
        found.setdefault(account_id, {}).setdefault(criterion, score)
    return found


def regrade(
    *,
    month: str | None = None,
    actor: Any = None,
    engine: Engine = Engine.DUCKDB,
    warehouse: Warehouse | None = None,
    progress: Progress | None = None,
) -> GradingRun:
    """Grade every account for `month` (None: the newest month of usage) and keep it. `actor`
    None is the system (CLI, nightly); a user needs CHANGE on the enterprise rules at the
    province."""
    say = progress or (lambda _stage: None)
    if actor is not None and not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    store = warehouse or Warehouse()
    if store.read_file("enterprises") is None:
        raise ServiceError(_("No enterprises were imported yet: import the enterprises table."))
    months = kept.usage_months(store)
    chosen = parse_month(month) if month else (Month.parse(months[0]) if months else None)
    if chosen is None or str(chosen) not in months:
        raise ServiceError(
            _("The warehouse has no usage for %(month)s (newest months: %(months)s).")
            % {"month": chosen or "-", "months": "、".join(months) or "-"},
            field="month",
        )
    began = time.monotonic()
    say(_("Computing the account features"))
    computed = kept.compute(
        month=chosen, operations=operations_rows(month=chosen), engine=engine, store=store
    )
    features_seconds = time.monotonic() - began
    say(_("Grading the accounts"))
    accounts = {
        e: (pk, path)
        for e, pk, path in Account.objects.values_list("enterprise_id", "pk", "org_unit__path")
    }
    rule_sets = {p.code: current_rule_set(p) for p in provinces()}
    if not rule_sets:
        raise ServiceError(_("There is no org tree yet: import the org units first."))
    fallback = next(iter(rule_sets))
    rules = {code: Rules.of(rs) for code, rs in rule_sets.items()}
    qualitative = newest_qualitative()
    rows = computed.features.select(
        [
            "enterprise_id",
            "members_on_net",
            "revenue_fen",
            "revenue_growth",
            "size",
            "complaints_3m",
        ]
    ).to_pylist()
    graded: dict[str, tuple[Graded, str]] = {}
    for row in rows:
        enterprise_id = row["enterprise_id"]
        pk, path = accounts.get(enterprise_id, (None, ""))
        code = province_of(path) if path else fallback
        code = code if code in rules else fallback
        result = grade_account(
            figures=figures_of(row),
            qualitative=qualitative.get(pk, {}) if pk is not None else {},
            rules=rules[code],
        )
        graded[enterprise_id] = (result, code)
    ids = [r["enterprise_id"] for r in rows]
    features = computed.features
    features = features.append_column("grade", pa.array([str(graded[e][0].grade) for e in ids]))
    features = features.append_column(
        "score", pa.array([float(graded[e][0].score) for e in ids], pa.float64())
    )
    features = features.append_column(
        "service_level", pa.array([graded[e][0].service_level for e in ids])
    )
    kept.keep(computed, features)
    say(_("Writing the grades"))
    return _write(
        month=str(chosen),
        graded=graded,
        accounts=accounts,
        rule_sets=rule_sets,
        actor=actor,
        began=began,
        features_seconds=features_seconds,
    )


def _previous_grades(month: str) -> dict[int, str]:
    before = GradingRun.objects.filter(month__lt=month).order_by("-month").first()
    if before is None:
        return {}
    return dict(
        AccountGrading.objects.filter(month=before.month).values_list("account_id", "grade")
    )


@dataclass(frozen=True)
class _Row:
    account_id: int
    grade: str
    service_level: str


# Every column but the key is rewritten by a re-run of the month.
_COLUMNS = (
    "account_id",
    "month",
    "grade",
    "previous_grade",
    "score",
    "contributions",
    "thresholds",
    "move_up",
    "rule_set_id",
    "rule_set_version",
    "service_level",
    "graded_at",
)
_JSON = {"contributions", "thresholds", "move_up"}


def _upsert_sql() -> str:
    """One INSERT … ON CONFLICT DO UPDATE for a row (SQLite ≥ 3.24 and PostgreSQL): the ORM's
    bulk_create compiles every value of 100,000 rows, several times slower than the insert."""
    table = connection.ops.quote_name(AccountGrading._meta.db_table)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    values = ", ".join(cast if c in _JSON else "%s" for c in _COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
    return (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({values}) "
        f"ON CONFLICT (account_id, month) DO UPDATE SET {updates}"
    )


def _write(
    *,
    month: str,
    graded: dict[str, tuple[Graded, str]],
    accounts: dict[str, tuple[int, str]],
    rule_sets: dict[str, Any],
    actor: Any,
    began: float,
    features_seconds: float,
) -> GradingRun:
    ops = connection.ops
    with transaction.atomic():
        # The month's row is the lock: a second run waits here until the first commits.
        run, _created = GradingRun.objects.select_for_update().get_or_create(month=month)
        before = _previous_grades(month)
        thresholds = {
            code: json.dumps({"a_min": rs.a_min, "b_min": rs.b_min})
            for code, rs in rule_sets.items()
        }
        now = ops.adapt_datetimefield_value(timezone.now())
        rows: list[_Row] = []
        params = []
        for enterprise_id, (result, code) in graded.items():
            if enterprise_id not in accounts:
                continue  # not in the account file (yet): kept in the features only
            pk = accounts[enterprise_id][0]
            rule_set = rule_sets[code]
            rows.append(_Row(pk, str(result.grade), result.service_level))
            params.append(
                (
                    pk,
                    month,
                    str(result.grade),
                    before.get(pk, ""),
                    ops.adapt_decimalfield_value(result.score, 7, 4),
                    json.dumps(result.contributions, ensure_ascii=False),
                    thresholds[code],
                    json.dumps(result.move_up, ensure_ascii=False),
                    rule_set.pk,
                    rule_set.version,
                    result.service_level,
                    now,
                )
            )
        sql = _upsert_sql()
        with connection.cursor() as cursor:
            for start in range(0, len(params), WRITE_BATCH):
                cursor.executemany(sql, params[start : start + WRITE_BATCH])
        graded_pks = {r.account_id for r in rows}
        # An account graded by an earlier run of the month that is gone from the warehouse.
        stale = AccountGrading.objects.filter(month=month).values_list("account_id", flat=True)
        gone = [pk for pk in stale if pk not in graded_pks]
        for start in range(0, len(gone), WRITE_BATCH):
            AccountGrading.objects.filter(
                month=month, account_id__in=gone[start : start + WRITE_BATCH]
            ).delete()
        if not GradingRun.objects.filter(month__gt=month).exists():
            _set_current(rows)
        counts = Counter(r.grade for r in rows)
        run.accounts = len(rows)
        run.by_grade = {str(g): counts.get(str(g), 0) for g in AccountGrade}
        run.versions = {code: rs.version for code, rs in rule_sets.items()}
        run.ran_by = actor if getattr(actor, "pk", None) else None
        run.ran_at = timezone.now()
        run.seconds = round(time.monotonic() - began, 3)
        run.runs += 1
        run.save()
    run.features_seconds = round(features_seconds, 3)  # type: ignore[attr-defined]
    return run


def _set_current(rows: list[_Row]) -> None:
    """Account.grade and service_level as the month's grading says, where they differ."""
    by_value: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        by_value.setdefault((r.grade, r.service_level), []).append(r.account_id)
    for (grade, level), pks in by_value.items():
        for start in range(0, len(pks), WRITE_BATCH):
            batch = pks[start : start + WRITE_BATCH]
            Account.objects.filter(pk__in=batch).exclude(grade=grade, service_level=level).update(
                grade=grade, service_level=level
            )
