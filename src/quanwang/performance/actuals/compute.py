"""The nightly computation of the actuals: every KPI of the catalogue, at every grain, for the
open periods and the ones just closed, in one pass, incrementally.

1. Business day (`as_of`): the newest fact day in the warehouse, capped by today (see
   `business_day_of`).
2. Fingerprints: per input table and month, the row count and the sum of a row hash
   (fingerprint.py). A (KPI, month) is recomputed when an input's fingerprint of that month
   changed (an undated input: every month), when the KPI's definition changed, when the month
   is new, or when it is the running month and the business day moved; the other pairs reuse
   the previous version's base values.
3. Base values: each KPI's `build` (performance.kpis.definitions) on the chosen engine
   (DuckDB or Spark), all KPIs in one union, read back once.
4. Roll-up (rollup.py): base → units → ancestors, stores, accounts, staff by date of fact,
   months → quarters and the year; always redone whole from the base values (cheap), so a
   change of the org tree or of a responsibility shows at once.
5. Published as one immutable version (store.publish) with the base values beside it, the
   fingerprints, timings and what was recomputed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import timezone

from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import sql_literal
from quanwang.insight.choices import Engine
from quanwang.performance.actuals import attribution, fingerprint, rollup, store
from quanwang.performance.choices import OverTime, PeriodKind
from quanwang.performance.kpis.definitions import BuildContext, FactTables, KpiDefinition
from quanwang.performance.periods import Period, open_periods, parse, period_of

logger = logging.getLogger(__name__)

BASE_FILE = "base.parquet"
#: Bumped when the computation's rules change, so the next run is a full one.
RULES_VERSION = 1

MonthOf = Callable[[ir.Table, str], Any]


@dataclass
class Inputs:
    """What one computation reads; tests and the bench build their own."""

    catalogue: Mapping[str, KpiDefinition]
    #: Opens the fact tables on the engine's backend.
    open_tables: Callable[[Any], FactTables]
    month_of: MonthOf
    #: Files to remove once done (the extracted operations facts).
    scratch: list[Path] = field(default_factory=list)
    #: table → an identity of its content (a file's path, size and time): a table whose
    #: identity is the previous run's keeps its fingerprints without being read again.
    identities: Mapping[str, str] = field(default_factory=dict)
    #: The org tree as (code, path), the responsibilities and the staff units; None: read
    #: from the database (the bench's province simulation brings its own).
    units: Sequence[tuple[str, str]] | None = None
    intervals: pa.Table | None = None
    staff: pa.Table | None = None
    #: The insight snapshot the snapshot tables were read from (named on the version).
    snapshot: Any = None


def default_inputs(*, snapshot: Any = None) -> Inputs:
    """The real catalogue and fact tables (performance.kpis), with the operations facts
    extracted to a scratch folder."""
    from quanwang.performance.kpis import facts
    from quanwang.performance.kpis.catalogue import catalogue

    folder = Path(tempfile.mkdtemp(prefix="actuals-", dir=_scratch_root()))
    extracts = facts.extract_ops_facts(folder)
    chosen = snapshot if snapshot is not None else _latest_snapshot()

    def open_tables(con: Any) -> FactTables:
        return facts.open_fact_tables(con, snapshot=chosen, extracts=extracts)

    # The warehouse's files are immutable versions: the same path, size and time is the same
    # content. The extracted operations facts are new files each run and are always read.
    identities = {name: file_identity(path) for name, path in facts.warehouse_files().items()}
    return Inputs(
        catalogue=catalogue(),
        open_tables=open_tables,
        month_of=lambda table, name: facts.month_of(table, name),
        scratch=[folder],
        identities=identities,
        snapshot=chosen,
    )


def file_identity(path: Path) -> str:
    found = path.stat()
    return f"{path}|{found.st_size}|{found.st_mtime_ns}"


def _latest_snapshot() -> Any:
    from quanwang.insight.snapshots import SnapshotStore

    return SnapshotStore().latest()


def _scratch_root() -> Path:
    root = Path(settings.VAR_DIR) / "performance" / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    return root


def months_for(as_of: dt.date) -> list[str]:
    """The months computed on business day `as_of`: the year so far, the month and the quarter
    before (boards and incentives read the closed ones)."""
    months = set(period_of(PeriodKind.YEAR, as_of).months)
    month = period_of(PeriodKind.MONTH, as_of)
    quarter = period_of(PeriodKind.QUARTER, as_of)
    months |= set(month.previous().months) | set(quarter.previous().months)
    last = f"{as_of:%Y-%m}"
    return sorted(m for m in months if m <= last)


def periods_for(as_of: dt.date, months: Sequence[str]) -> list[Period]:
    """Every period whose months up to `as_of` were all computed: the months, the quarters
    and the year so far (the open ones and the closed month and quarter before)."""
    computed, last = set(months), f"{as_of:%Y-%m}"
    candidates: dict[str, Period] = {}
    for month in months:
        period = parse(month)
        for kind in PeriodKind:
            found = period_of(kind, period.start)
            candidates[found.code] = found
    for period in open_periods(as_of):
        candidates[period.code] = period
    return sorted(
        (p for p in candidates.values() if all(m in computed for m in p.months if m <= last)),
        key=lambda p: (p.kind, p.start),
    )


def business_day_of(
    tables: FactTables, month_of: MonthOf, *, today: dt.date | None = None
) -> dt.date:
    """The newest fact day: the last day of the newest month any dated fact table holds, capped
    by today. Why not the wall clock: an operator's figures are T+1 (yesterday's facts arrive
    overnight), and the demo's generated data ends in an earlier year; a board computed "as of
    today" would show empty months."""
    today = today or timezone.localdate()
    newest: str | None = None
    for name, table in tables.items():
        month = month_of(table, name)
        if month is None:
            continue
        found = table.aggregate(m=month.max()).execute()
        value = found["m"].iloc[0] if len(found) else None
        if isinstance(value, str) and len(value) >= 7 and (newest is None or value > newest):
            newest = value
    if newest is None:
        return today
    year, month_no = int(newest[:4]), int(newest[5:7])
    return min(dt.date(year, month_no, calendar.monthrange(year, month_no)[1]), today)


def signature(defn: KpiDefinition) -> str:
    """What the KPI's values depend on besides the facts (a change recomputes all its months)."""
    return "|".join(
        [
            str(RULES_VERSION),
            defn.code,
            str(defn.aggregation),
            str(defn.over_time),
            ",".join(sorted(str(g) for g in defn.grains)),
            ",".join(defn.inputs),
            str(getattr(defn, "signature", "") or ""),
        ]
    )


def compute(
    *,
    as_of: dt.date | None = None,
    engine: Engine | str = Engine.DUCKDB,
    snapshot: Any = None,
    full: bool = False,
    inputs: Inputs | None = None,
) -> store.ActualsVersion:
    """Compute and publish the actuals (see the module docstring). `snapshot`: the insight
    snapshot whose wide table KPIs read (default: the newest)."""
    engine = Engine(engine)
    began = time.monotonic()
    timings: dict[str, float] = {}
    chosen = inputs or default_inputs(snapshot=snapshot)
    try:
        con = _connect(engine)
        tables = chosen.open_tables(con)
        if as_of is None:
            as_of = business_day_of(tables, chosen.month_of)
        months = months_for(as_of)
        periods = periods_for(as_of, months)
        previous = store.current()
        previous_details: Mapping[str, Any] = previous.details if previous else {}
        reusable = (
            not full
            and previous is not None
            and previous_details.get("engine") == engine.value
            and (previous.folder / BASE_FILE).exists()
        )

        mark = time.monotonic()
        wanted_tables = sorted(
            {t for d in chosen.catalogue.values() for t in d.inputs if t in tables}
        )
        old_prints: Mapping[str, Any] = previous_details.get("fingerprints", {}) if reusable else {}
        old_identities: Mapping[str, str] = (
            previous_details.get("identities", {}) if reusable else {}
        )
        prints = {}
        for name in wanted_tables:
            same = name in chosen.identities and old_identities.get(name) == chosen.identities[name]
            if same and name in old_prints:
                prints[name] = old_prints[name]
            else:
                month = chosen.month_of(tables[name], name)
                prints[name] = fingerprint.of_table(tables[name], month)
        timings["fingerprints"] = round(time.monotonic() - mark, 3)

        plan, skipped = _plan(
            catalogue=chosen.catalogue,
            tables=tables,
            months=months,
            as_of=as_of,
            prints=prints,
            old_prints=old_prints,
            previous=previous_details if reusable else None,
            previous_as_of=previous.as_of if (reusable and previous) else None,
        )

        mark = time.monotonic()
        fresh = _base_values(con, engine, chosen.catalogue, tables, plan, as_of=as_of)
        timings["base"] = round(time.monotonic() - mark, 3)

        mark = time.monotonic()
        kept = _reused_base(previous, plan, months) if reusable else None
        found = [t for t in (kept, fresh) if t is not None]
        base = pa.concat_tables(found) if found else rollup.BASE_SCHEMA.empty_table()
        timings["reuse"] = round(time.monotonic() - mark, 3)

        mark = time.monotonic()
        stock = [c for c, d in chosen.catalogue.items() if d.over_time == OverTime.STOCK]
        values = rollup.roll_up(
            base,
            ancestors=rollup.ancestors_table(
                chosen.units
                if chosen.units is not None
                else OrgUnit.objects.values_list("code", "path")
            ),
            intervals=(
                chosen.intervals if chosen.intervals is not None else attribution.interval_table()
            ),
            staff=chosen.staff if chosen.staff is not None else attribution.staff_table(),
            periods=periods,
            stock_kpis=stock,
        )
        timings["rollup"] = round(time.monotonic() - mark, 3)

        computed = {code: months for code in chosen.catalogue if code not in skipped}
        timings["total"] = round(time.monotonic() - began, 3)
        details = {
            "engine": engine.value,
            "full": not reusable,
            "months": months,
            "periods": [p.code for p in periods],
            "fingerprints": prints,
            "identities": dict(chosen.identities),
            "signatures": {c: signature(d) for c, d in chosen.catalogue.items()},
            "computed": computed,
            "recomputed": {c: sorted(m) for c, m in plan.items() if m},
            "skipped": skipped,
            "base_rows": base.num_rows,
            "timings": timings,
        }
        mark = time.monotonic()
        version = store.publish(
            values,
            as_of=as_of,
            snapshot=_snapshot_name(snapshot if snapshot is not None else chosen.snapshot),
            details=details,
            extra={BASE_FILE: base.cast(rollup.BASE_SCHEMA)},
        )
        logger.info(
            "actuals %s: %d rows, %d KPI-months recomputed in %.1f s (publish %.1f s)",
            version.version,
            values.num_rows,
            sum(len(m) for m in plan.values()),
            time.monotonic() - began,
            time.monotonic() - mark,
        )
        return version
    finally:
        for folder in chosen.scratch:
            shutil.rmtree(folder, ignore_errors=True)


def _connect(engine: Engine) -> Any:
    from quanwang.insight.engines import connect

    return connect(engine)


def _snapshot_name(snapshot: Any) -> str | None:
    if snapshot is None:
        return None
    month, run = getattr(snapshot, "month", None), getattr(snapshot, "run_id", None)
    if month and run:
        return f"{month} · {run}"
    return str(month or snapshot)


def _plan(
    *,
    catalogue: Mapping[str, KpiDefinition],
    tables: FactTables,
    months: Sequence[str],
    as_of: dt.date,
    prints: Mapping[str, Mapping[str, Any]],
    old_prints: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    previous_as_of: dt.date | None,
) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """KPI → the months to compute now; KPI → its missing input tables (left out)."""
    plan: dict[str, set[str]] = {}
    skipped: dict[str, list[str]] = {}
    running = {f"{as_of:%Y-%m}"}
    if previous_as_of is not None and previous_as_of != as_of:
        running.add(f"{previous_as_of:%Y-%m}")
    for code, defn in catalogue.items():
        missing = [t for t in defn.inputs if t not in tables]
        if missing:
            skipped[code] = missing
            continue
        if previous is None or previous.get("signatures", {}).get(code) != signature(defn):
            plan[code] = set(months)
            continue
        done = set(previous.get("computed", {}).get(code, []))
        redo = {m for m in months if m not in done}
        if previous_as_of != as_of:
            redo |= running & set(months)
        for table in defn.inputs:
            redo |= fingerprint.changed_months(prints.get(table, {}), old_prints.get(table), months)
        plan[code] = redo
    return plan, skipped


def _month_text(day: Any) -> Any:
    # Built from year and month rather than strftime: the same text on DuckDB and Spark.
    return day.year().cast("string") + ibis.literal("-") + day.month().cast("string").lpad(2, "0")


def _base_values(
    con: Any,
    engine: Engine,
    catalogue: Mapping[str, KpiDefinition],
    tables: FactTables,
    plan: Mapping[str, set[str]],
    *,
    as_of: dt.date,
) -> pa.Table | None:
    """The base values of the planned (KPI, month) pairs, one union read back once."""
    parts = []
    for code, months in sorted(plan.items()):
        if not months:
            continue
        defn = catalogue[code]
        built = defn.build(tables, BuildContext(as_of=as_of, months=tuple(sorted(months))))
        day = built["day"].cast("date")
        part = built.select(
            kpi=ibis.literal(code),
            grain=built["grain"].cast("string"),
            key=built["key"].cast("string"),
            org_unit=built["org_unit"].cast("string"),
            day=day,
            month=_month_text(day),
            numerator=built["numerator"].cast("float64"),
            denominator=built["denominator"].cast("float64"),
        )
        # A build may leave other months' facts in: only the planned months count.
        part = part.filter(part["day"] <= ibis.literal(as_of), part.month.isin(sorted(months)))
        parts.append(part)
    if not parts:
        return None
    union = ibis.union(*parts) if len(parts) > 1 else parts[0]
    table = con.to_pyarrow(union)
    return _rebuilt(table)


def _rebuilt(table: pa.Table) -> pa.Table:
    """`table` with BASE_SCHEMA's types (an engine may hand dates as timestamps)."""
    columns = []
    for f in rollup.BASE_SCHEMA:
        column = table.column(f.name)
        if f.type == pa.date32() and column.type != pa.date32():
            column = (
                column.cast(pa.timestamp("us")).cast(pa.date32())
                if pa.types.is_timestamp(column.type)
                else column.cast(pa.date32())
            )
        columns.append(column.cast(f.type))
    return pa.Table.from_arrays(columns, schema=rollup.BASE_SCHEMA)


def _reused_base(
    previous: store.ActualsVersion | None, plan: Mapping[str, set[str]], months: Sequence[str]
) -> pa.Table | None:
    """The previous version's base values of the (KPI, month) pairs not recomputed now."""
    if previous is None:
        return None
    redo = [(code, month) for code, chosen in plan.items() for month in chosen]
    con = duckdb.connect()
    try:
        con.register(
            "redo",
            pa.table(
                {"kpi": [c for c, _m in redo], "month": [m for _c, m in redo]},
                schema=pa.schema([("kpi", pa.string()), ("month", pa.string())]),
            ),
        )
        con.register("wanted", pa.table({"kpi": pa.array(sorted(plan), pa.string())}))
        con.register("months", pa.table({"month": pa.array(list(months), pa.string())}))
        source = sql_literal(str(previous.folder / BASE_FILE))
        return (
            con.sql(
                f"select b.* from read_parquet({source}) b "
                "where b.kpi in (select kpi from wanted) and b.month in (select month from months) "
                "and not exists (select 1 from redo r where r.kpi = b.kpi and r.month = b.month)"
            )
            .to_arrow_table()
            .cast(rollup.BASE_SCHEMA)
        )
    finally:
        con.close()
