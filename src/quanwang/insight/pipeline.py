"""The insight pipeline: canonical tables → customer wide table with tiers and scores.

`run_pipeline` checks its inputs, builds one Ibis expression (features, value tiers,
switching cost), runs it on the chosen engine and writes an immutable snapshot.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from django.utils.translation import gettext as _

from quanwang.data.arrow import table_schema
from quanwang.data.warehouse import Warehouse, sql_literal
from quanwang.insight import compare, offnet, summary
from quanwang.insight.choices import Engine
from quanwang.insight.churn import (
    TRAIN_MONTHS,
    ChurnModel,
    ModelRegistry,
    churn_labels,
    reason_columns,
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
from quanwang.insight.engines import (
    connect,
    materialise,
    register,
    to_arrow_sorted,
    write_parquet,
)
from quanwang.insight.features import Tables, derived_tables, offnet_pool, wide_table
from quanwang.insight.history import (
    CAMPAIGN_RESULTS,
    campaign_history,
    results_files,
    results_input,
    with_campaign_history,
)
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
from quanwang.insight.summary import UnitGrids
from quanwang.insight.upgrade import NotEnoughCustomers, upgrade_propensity
from quanwang.insight.wide_columns import with_wide_columns

REQUIRED_TABLES = ("subscribers", "plans", "monthly_usage")
OPTIONAL_TABLES = ("recharges", "contacts", "complaints")


class PipelineError(Exception):
    """The pipeline cannot run on these inputs; the message names what is missing."""


class Step(StrEnum):
    CHECKING = "checking"
    COMPUTING = "computing"
    KEEPING = "keeping"  # the console's figures of a complete snapshot (keep_console_figures)
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
        current = warehouse.read_file(name)
        if current is not None:
            files[name] = current
    return files


def _check_inputs(files: Mapping[str, Path], months: list[Month], scratch: Path) -> dict[str, Path]:
    """The files to read: required tables present with usage in every month named; missing
    optional tables replaced by empty ones of the right shape (their features are 0)."""
    missing = [name for name in REQUIRED_TABLES if name not in files]
    if missing:
        raise PipelineError(
            _("the warehouse has no %(tables)s yet; import them first")
            % {"tables": ", ".join(missing)}
        )
    usage = f"read_parquet({sql_literal(str(files['monthly_usage']))})"
    con = duckdb.connect()
    held = [m for (m,) in con.sql(f"SELECT DISTINCT month FROM {usage} ORDER BY 1").fetchall()]
    for month in months:
        if str(month) not in held:
            span = f"{held[0]} … {held[-1]}" if held else _("none")
            raise PipelineError(
                _(
                    "monthly_usage has no rows for %(month)s (months held: %(span)s); "
                    "import that month's usage or pick another snapshot month"
                )
                % {"month": month, "span": span}
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


def _enrich(
    table: pa.Table, wide: Path, model: ChurnModel | None, clv: tuple[Any, Any] | None
) -> dict[str, Any]:
    """Add 12-month CLV, 5G upgrade propensity, churn risk and, for the riskiest 20%, the top
    reasons to the wide table (sorted by subscriber), and write it as one file in `wide`."""
    notes: dict[str, Any] = {}
    added: list[tuple[str, pa.Array]] = []
    # The three read only the wide table's own columns, and none of them keeps two cores busy
    # for long (CLV's fits and the look-alike's training are single-threaded): run them side
    # by side.
    with ThreadPoolExecutor(max_workers=2) as beside:
        upgrade_job = beside.submit(upgrade_propensity, table)
        churn_job = beside.submit(_score, table, model) if model is not None else None
        if clv is not None:
            try:
                fits = fit_all(*clv)
            except FitError as exc:
                notes["clv"] = f"not fitted: {exc}"
            else:
                rounded = np.round(customer_clv(fits, table, *clv), 2)
                added.append(("clv_12m", pa.array(rounded, pa.float64(), mask=np.isnan(rounded))))
                notes["clv"] = fits.summary()
        try:
            upgrade = upgrade_job.result()
        except NotEnoughCustomers as exc:
            notes["upgrade_5g"] = f"not fitted: {exc}"
        else:
            values = upgrade.values
            added.append(
                ("upgrade_5g_propensity", pa.array(values, pa.float64(), mask=np.isnan(values)))
            )
            notes["upgrade_5g"] = {
                "auc": round(upgrade.auc, 4),
                "trained_rows": upgrade.trained_rows,
                "seconds": round(upgrade.seconds, 3),
            }
        if churn_job is not None:
            churn_columns, scoring = churn_job.result()
            added += churn_columns
            notes |= scoring
    for name, column in added:
        table = table.append_column(name, column)
    wide.mkdir()
    pq.write_table(table, wide / "enriched.parquet", compression="zstd")
    return notes


def _score(table: pa.Table, model: ChurnModel) -> tuple[list[tuple[str, pa.Array]], dict[str, Any]]:
    """Churn risk for every row, and reasons for the riskiest 20%."""
    scored = score(model, table)
    yes_no = {f.name for f in table.schema if pa.types.is_boolean(f.type)}
    codes, zh, en = reason_columns(model, scored, rows=table.num_rows, yes_no=yes_no)
    columns = [
        ("churn_risk", pa.array(scored.risk, type=pa.float64())),
        ("churn_reasons", pa.array(codes, pa.string())),
        ("churn_reasons_zh", pa.array(zh, pa.string())),
        ("churn_reasons_en", pa.array(en, pa.string())),
    ]
    return columns, {"churn": model.model_id, "scoring_seconds": round(scored.seconds, 3)}


def _summarise(staging: Path, *, run_id: str, units: Mapping[str, UnitGrids]) -> dict[str, Any]:
    """Write the snapshot's summary (`insight.summary`) beside its wide table, before the
    manifest: a complete snapshot always has one."""
    began = time.monotonic()
    data = summary.build(wide=staging / "wide", units=units, run_id=run_id)
    summary.write(staging, data)
    return {
        "grids": len(data["grids"]),
        "units": len(data["units"]),
        "seconds": round(time.monotonic() - began, 3),
    }


def run_pipeline(
    *,
    month: str,
    engine: Engine = Engine.DUCKDB,
    files: Mapping[str, Path] | None = None,
    params: PipelineParameters | None = None,
    store: SnapshotStore | None = None,
    progress: Progress | None = None,
    campaign_results: Sequence[Path] | None = None,
    units: Mapping[str, UnitGrids] | None = None,
) -> Snapshot:
    """Build the snapshot of `month` from the warehouse (or `files`) and the evaluated
    campaigns' results (or `campaign_results`; `insight.history`), with the console's figures
    per org unit of `units` (the org tree's grids by unit; `insight.summary`) and per grid."""
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
    results = list(campaign_results) if campaign_results is not None else results_files()
    with tempfile.TemporaryDirectory(prefix="pipeline-") as scratch:
        inputs = _check_inputs(sources, [snapshot_month], Path(scratch))
        inputs[CAMPAIGN_RESULTS] = results_input(
            paths=results, target=Path(scratch) / f"{CAMPAIGN_RESULTS}.parquet"
        )
        con = connect(engine)
        notify(Step.COMPUTING, 1, 2)
        tables = register(con, inputs)
        tables |= materialise(con, engine, derived_tables(tables, snapshot_month))
        # Campaign history joins the wide table here only: the churn model's training frames
        # (train_churn_model) are built without it, so it never becomes a model feature.
        history = campaign_history(tables[CAMPAIGN_RESULTS], snapshot_month)
        features = with_campaign_history(wide_table(tables, snapshot_month), history)
        # Other apps' columns (core.wide_columns), for targeting only: joined here, like the
        # campaign history, so the churn model's training frames never see them.
        features = with_wide_columns(features, con=con, month=snapshot_month, scratch=Path(scratch))
        wide = materialise(con, engine, {WIDE: features})[WIDE]
        expr = snapshot_expression(tables, snapshot_month, settings_used, wide=wide)
        run_id, staging = snapshots.begin(str(snapshot_month))
        try:
            table = to_arrow_sorted(
                con, engine, expr, key="subscriber_id", scratch=Path(scratch) / "wide"
            )
            pool = offnet_pool(tables["contacts"], tables["subscribers"], snapshot_month)
            write_parquet(con, engine, pool, staging / "offnet_pool")
            model = ModelRegistry().latest()
            clv = _clv_inputs(tables, snapshot_month)
            scoring = _enrich(table, staging / "wide", model, clv)
            rows = table.num_rows
            del table
            summarised = _summarise(staging, run_id=run_id, units=units or {})
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
                    inputs={name: str(path) for name, path in sources.items()}
                    | {f"{CAMPAIGN_RESULTS}/{path.parent.name}": str(path) for path in results},
                    models=scoring,
                    summary=summarised,
                ),
            )
        except BaseException:
            snapshots.abandon(staging)
            raise
    notify(Step.DONE, 2, 2)
    return snapshot


def keep_console_figures(
    snapshot: Snapshot,
    *,
    units: Mapping[str, UnitGrids] | None = None,
    store: SnapshotStore | None = None,
) -> dict[str, Any]:
    """What the console's off-net and compare pages read of a complete snapshot, worked out
    once: the digest of its off-net pool (`insight.offnet`) and its comparison with the
    snapshot listed just before it, per org unit of `units` (`insight.compare`); and the
    comparison of the two newest, the compare page's first view, should a snapshot of an
    earlier month have come between them.

    Not part of the snapshot, so not of `run_pipeline`'s time: the pages read the pool and the
    wide tables until these are there. Returns what was kept and its seconds."""
    began = time.monotonic()
    notes: dict[str, Any] = {}
    if (snapshot.path / "offnet_pool").is_dir():
        offnet.build(snapshot)
        notes["offnet_digest"] = True
    compared = []
    for before, after in compare.pairs_to_keep((store or SnapshotStore()).list(), snapshot):
        data = compare.build(before=before, after=after, units=units or {})
        compare.write(compare.path_of(after, before.run_id), data)
        compared.append(f"{before.label} → {after.label}")
    notes["compared"] = compared
    notes["seconds"] = round(time.monotonic() - began, 3)
    return notes


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
        raise PipelineError(_("the horizon is 1 to 6 months"))
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
