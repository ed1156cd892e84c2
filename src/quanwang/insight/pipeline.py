"""The insight pipeline: canonical tables → customer wide table with tiers and scores.

`run_pipeline` checks its inputs, builds one Ibis expression (features, value tiers,
switching cost), runs it on the chosen engine and writes an immutable snapshot.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.data.arrow import table_schema
from quanwang.data.warehouse import Warehouse, scalar_int, sql_literal
from quanwang.insight.choices import Engine
from quanwang.insight.churn import (
    TRAIN_MONTHS,
    ChurnModel,
    ModelRegistry,
    churn_labels,
    reason_text,
    score,
    train,
)
from quanwang.insight.clv import (
    FitError,
    customer_clv,
    fit_all,
    recharge_inputs,
    retention_inputs,
)
from quanwang.insight.engines import connect, materialise, register, write_parquet
from quanwang.insight.features import Tables, derived_tables, offnet_pool, wide_table
from quanwang.insight.months import Month, MonthError
from quanwang.insight.scores import (
    LifecycleParameters,
    SwitchingCostWeights,
    TierParameters,
    UpgradeRule,
    lifecycle_stage,
    switching_cost,
    upgrade_5g_rule,
    value_tiers,
)
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from quanwang.insight.upgrade import NotEnoughCustomers, upgrade_propensity

REQUIRED_TABLES = ("subscribers", "plans", "monthly_usage")
OPTIONAL_TABLES = ("recharges", "contacts", "complaints")


class PipelineError(Exception):
    """The pipeline cannot run on these inputs; the message names what is missing."""


class Step(StrEnum):
    CHECKING = "checking"
    COMPUTING = "computing"
    DONE = "done"


Progress = Callable[[Step, int, int], None]


@dataclass(frozen=True)
class PipelineParameters:
    tiers: TierParameters = field(default_factory=TierParameters)
    switching: SwitchingCostWeights = field(default_factory=SwitchingCostWeights)
    lifecycle: LifecycleParameters = field(default_factory=LifecycleParameters)
    upgrade: UpgradeRule = field(default_factory=UpgradeRule)


def warehouse_files(store: Warehouse | None = None) -> dict[str, Path]:
    """The current Parquet file of each loaded canonical table the pipeline reads."""
    warehouse = store or Warehouse()
    files = {}
    for name in (*REQUIRED_TABLES, *OPTIONAL_TABLES):
        current = warehouse.current_file(name)
        if current is not None:
            files[name] = current
    return files


def _check_inputs(files: Mapping[str, Path], months: list[Month], scratch: Path) -> dict[str, Path]:
    """The files to read: required tables present with usage in every month named; missing
    optional tables replaced by empty ones of the right shape (their features are 0)."""
    missing = [name for name in REQUIRED_TABLES if name not in files]
    if missing:
        raise PipelineError(
            f"the warehouse has no {', '.join(missing)} yet; import them first "
            "(quanwang import TABLE FILE)"
        )
    usage = f"read_parquet({sql_literal(str(files['monthly_usage']))})"
    con = duckdb.connect()
    held = [m for (m,) in con.sql(f"SELECT DISTINCT month FROM {usage} ORDER BY 1").fetchall()]
    for month in months:
        if str(month) not in held:
            span = f"{held[0]} … {held[-1]}" if held else "none"
            raise PipelineError(
                f"monthly_usage has no rows for {month} (months held: {span}); "
                "import that month's usage or pick another snapshot month"
            )
    complete = dict(files)
    for name in OPTIONAL_TABLES:
        if name not in complete:
            empty = scratch / f"{name}.parquet"
            pq.write_table(table_schema(name).empty_table(), empty)
            complete[name] = empty
    return complete


# The name the materialised wide table has on the pipeline's connection.
WIDE = "wide_features"


def snapshot_expression(
    tables: Tables, month: Month, params: PipelineParameters, *, wide: ir.Table | None = None
) -> ir.Table:
    """The whole snapshot as one expression: features, tiers, switching cost, lifecycle stage
    and the 5G upgrade rule. Pass `wide` when the wide table is already materialised: the
    tiers read it as well, and an engine may otherwise compute it twice (DuckDB did: 35 s
    instead of 21 s at 1M)."""
    wide = wide_table(tables, month) if wide is None else wide
    tiers = value_tiers(tables["monthly_usage"], wide, month, params.tiers)
    scored = wide.left_join(tiers, "subscriber_id").select(
        wide, tiers.revenue_window, tiers.revenue_rank_share, tiers.value_tier
    )
    return scored.mutate(
        switching_cost=switching_cost(scored, params.switching),
        lifecycle_stage=lifecycle_stage(scored, params.lifecycle),
        upgrade_5g_rule=upgrade_5g_rule(scored, params.upgrade),
        snapshot_month=ibis.literal(str(month)),
    )


def _clv_inputs(tables: Tables, month: Month) -> tuple[Any, Any]:
    """What the CLV fits need, computed on the pipeline's engine."""
    # In subscriber order: every engine then hands the fits the same rows in the same order.
    retention = retention_inputs(tables["subscribers"], month).order_by("subscriber_id")
    recharges = recharge_inputs(tables["recharges"], tables["subscribers"], month)
    return retention.to_pyarrow(), recharges.order_by("subscriber_id").to_pyarrow()


def _enrich(wide: Path, model: ChurnModel | None, clv: tuple[Any, Any] | None) -> dict[str, Any]:
    """Add 12-month CLV, 5G upgrade propensity, churn risk and, for the riskiest 20%, the top
    reasons to the wide table, and rewrite it as one file."""
    parts = sorted(wide.glob("*.parquet"))
    source = sql_literal(str(wide / "*.parquet"))
    table = duckdb.connect().sql(f"SELECT * FROM read_parquet({source}) ORDER BY subscriber_id")
    table = table.to_arrow_table()
    notes: dict[str, Any] = {}
    if clv is not None:
        try:
            fits = fit_all(*clv)
        except FitError as exc:
            notes["clv"] = f"not fitted: {exc}"
        else:
            values = customer_clv(fits, table, *clv)
            rounded = np.round(values, 2)
            table = table.append_column(
                "clv_12m", pa.array(rounded, pa.float64(), mask=np.isnan(rounded))
            )
            notes["clv"] = fits.summary()
    try:
        upgrade = upgrade_propensity(table)
    except NotEnoughCustomers as exc:
        notes["upgrade_5g"] = f"not fitted: {exc}"
    else:
        table = table.append_column(
            "upgrade_5g_propensity",
            pa.array(upgrade.values, pa.float64(), mask=np.isnan(upgrade.values)),
        )
        notes["upgrade_5g"] = {
            "auc": round(upgrade.auc, 4),
            "trained_rows": upgrade.trained_rows,
            "seconds": round(upgrade.seconds, 3),
        }
    if model is not None:
        table, scoring = _score(table, model)
        notes |= scoring
    pq.write_table(table, wide / "enriched.parquet", compression="zstd")
    for part in parts:
        part.unlink()
    return notes


def _score(table: pa.Table, model: ChurnModel) -> tuple[pa.Table, dict[str, Any]]:
    """Churn risk for every row, and reasons for the riskiest 20%."""
    scored = score(model, table)
    yes_no = {f.name for f in table.schema if pa.types.is_boolean(f.type)}
    rows = table.num_rows
    codes: list[str | None] = [None] * rows
    zh: list[str | None] = [None] * rows
    en: list[str | None] = [None] * rows
    # Only the riskiest share has reasons: skip the rest rather than join empty lists.
    for row, explained in enumerate(scored.reasons):
        if not explained:
            continue
        texts = [
            reason_text(code, value, model.medians.get(code, 0.0), yes_no=code in yes_no)
            for code, value in explained
        ]
        codes[row] = ",".join(code for code, _value in explained)
        zh[row] = "；".join(t[0] for t in texts)
        en[row] = "; ".join(t[1] for t in texts)
    table = table.append_column("churn_risk", pa.array(scored.risk, type=pa.float64()))
    table = table.append_column("churn_reasons", pa.array(codes, pa.string()))
    table = table.append_column("churn_reasons_zh", pa.array(zh, pa.string()))
    table = table.append_column("churn_reasons_en", pa.array(en, pa.string()))
    return table, {"churn": model.model_id, "scoring_seconds": round(scored.seconds, 3)}


def run_pipeline(
    *,
    month: str,
    engine: Engine = Engine.DUCKDB,
    files: Mapping[str, Path] | None = None,
    params: PipelineParameters | None = None,
    store: SnapshotStore | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    began = time.monotonic()
    notify = progress or (lambda _step, _done, _total: None)
    try:
        snapshot_month = Month.parse(month)
    except MonthError as exc:
        raise PipelineError(str(exc)) from exc
    settings_used = params or PipelineParameters()
    snapshots = store or SnapshotStore()
    notify(Step.CHECKING, 0, 2)
    sources = dict(files) if files is not None else warehouse_files()
    with tempfile.TemporaryDirectory(prefix="pipeline-") as scratch:
        inputs = _check_inputs(sources, [snapshot_month], Path(scratch))
        con = connect(engine)
        notify(Step.COMPUTING, 1, 2)
        tables = register(con, inputs)
        tables |= materialise(con, engine, derived_tables(tables, snapshot_month))
        wide = materialise(con, engine, {WIDE: wide_table(tables, snapshot_month)})[WIDE]
        expr = snapshot_expression(tables, snapshot_month, settings_used, wide=wide)
        run_id, staging = snapshots.begin(str(snapshot_month))
        try:
            write_parquet(con, engine, expr, staging / "wide")
            pool = offnet_pool(tables["contacts"], tables["subscribers"], snapshot_month)
            write_parquet(con, engine, pool, staging / "offnet_pool")
            model = ModelRegistry().latest()
            clv = _clv_inputs(tables, snapshot_month)
            scoring = _enrich(staging / "wide", model, clv)
            parts = sql_literal(str(staging / "wide" / "*.parquet"))
            rows = scalar_int(duckdb.connect(), f"SELECT count(*) FROM read_parquet({parts})")
            snapshot = snapshots.complete(
                staging,
                Snapshot(
                    month=str(snapshot_month),
                    run_id=run_id,
                    engine=str(engine),
                    created=run_id,
                    rows=rows,
                    seconds=round(time.monotonic() - began, 3),
                    parameters=asdict(settings_used),
                    inputs={name: str(path) for name, path in sources.items()},
                    models=scoring,
                ),
            )
        except BaseException:
            snapshots.abandon(staging)
            raise
    notify(Step.DONE, 2, 2)
    return snapshot


def train_churn_model(
    *,
    month: str,
    horizon: int = 1,
    files: Mapping[str, Path] | None = None,
    params: PipelineParameters | None = None,
    progress: Progress | None = None,
) -> ChurnModel:
    """Train, calibrate and register a churn model whose latest known labels end at `month`."""
    notify = progress or (lambda _step, _done, _total: None)
    try:
        latest = Month.parse(month)
    except MonthError as exc:
        raise PipelineError(str(exc)) from exc
    if not 1 <= horizon <= 6:
        raise PipelineError("the horizon is 1 to 6 months")
    settings_used = params or PipelineParameters()
    sources = dict(files) if files is not None else warehouse_files()
    notify(Step.CHECKING, 0, 2)
    with tempfile.TemporaryDirectory(prefix="train-") as scratch:
        earliest = latest.shift(-horizon - TRAIN_MONTHS)
        inputs = _check_inputs(sources, [earliest, latest], Path(scratch))
        con = connect(Engine.DUCKDB)
        tables = register(con, inputs)
        notify(Step.COMPUTING, 1, 2)

        def frame(m: Month) -> pa.Table:
            derived = tables | materialise(con, Engine.DUCKDB, derived_tables(tables, m))
            wide = materialise(con, Engine.DUCKDB, {WIDE: wide_table(derived, m)})[WIDE]
            return snapshot_expression(derived, m, settings_used, wide=wide).to_pyarrow()

        model, booster = train(
            frames=frame,
            labels=lambda m: churn_labels(tables["subscribers"], m, horizon).to_pyarrow(),
            month=latest,
            horizon=horizon,
        )
    saved = ModelRegistry().save(model, booster)
    notify(Step.DONE, 2, 2)
    return saved
