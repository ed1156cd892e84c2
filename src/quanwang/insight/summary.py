"""The dashboard's figures of a snapshot, computed once per org unit when the snapshot is built.

A snapshot never changes, so what 营销分析 → 客户价值 shows for a scope can be added up once
and read back as a few rows. `summary.json` in the snapshot folder holds:

- `grids`: one row per grid of the wide table (and one for customers with no grid): the grid
  table's columns as the console shows them, and the grid's additive figures;
- `units`: one row per org unit of the tree given to the build (grids, counties, cities, the
  province): the grid codes under the unit when the summary was built, and the sum of their
  figures (the root unit adds the customers with no grid, as its users' scope does);
- `everyone`: the whole snapshot (a superuser's scope, and the "share of all" figures).

Every figure is a count or a sum, so the figures of several units (a user with two units) or of
several grids add up exactly; means are divided out when read. The org tree is passed in by the
caller (`UnitGrids` by unit code): this module reads Parquet and knows no database.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from quanwang.data.warehouse import quote, sql_literal
from quanwang.insight.choices import LifecycleStage, ValueTier
from quanwang.insight.kept_files import KeptJson

SUMMARY = "summary.json"
# Raised when what the file holds changes; an older file is then rebuilt, never misread.
# 2: the month's revenue (`revenue_m1`, the home page's figure).
FORMAT = 2
RISK_BANDS = (0.01, 0.02, 0.05, 0.10)
SWITCHING_BANDS = 10
# The look-alike probability above which a rule-qualified customer counts as a strong target.
STRONG_UPGRADE_PROPENSITY = 0.5
FUNNEL_STEPS = 5
# The key of the customers with no grid among the grid rows (JSON keys are text).
NO_GRID = ""


@dataclass(frozen=True)
class UnitGrids:
    """The grid codes under one org unit; `gridless` for the root, whose users also reach the
    customers with no grid."""

    grids: tuple[str, ...]
    gridless: bool = False


@dataclass
class Figures:
    """Additive figures of a set of customers: `values` by measure name, `drivers` counts of
    each churn-reason code."""

    values: dict[str, float] = field(default_factory=dict)
    drivers: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> Figures:
        for name, value in other.values.items():
            self.values[name] = self.values.get(name, 0) + value
        for code, n in other.drivers.items():
            self.drivers[code] = self.drivers.get(code, 0) + n
        return self

    def get(self, name: str) -> float:
        return self.values.get(name, 0)

    def count(self, name: str) -> int:
        return int(self.values.get(name, 0))

    def as_json(self) -> dict[str, Any]:
        return {"values": self.values, "drivers": self.drivers}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figures:
        return cls(values=dict(data.get("values", {})), drivers=dict(data.get("drivers", {})))

    @classmethod
    def total(cls, parts: Iterable[Figures]) -> Figures:
        summed = cls()
        for part in parts:
            summed.add(part)
        return summed


@dataclass(frozen=True)
class Has:
    """Which optional parts a snapshot has (older snapshots lack some columns)."""

    clv: bool
    risk: bool
    lifecycle: bool
    funnel: bool
    #: The snapshot month's revenue (the sum of `arpu_m1`), measure "revenue_m1".
    month_revenue: bool = False

    @classmethod
    def of(cls, columns: Mapping[str, str] | Iterable[str]) -> Has:
        names = set(columns)
        return cls(
            clv="clv_12m" in names,
            risk="churn_risk" in names,
            lifecycle="lifecycle_stage" in names,
            funnel="upgrade_5g_propensity" in names,
            month_revenue="arpu_m1" in names,
        )


# Measure names, shared by the build and the readers.
def tier_measure(tier: str, what: str) -> str:
    """`what` of value tier `tier`: customers, revenue, clv_sum (CLV added up) or clv_n (the
    customers with a CLV)."""
    return f"tier:{tier}:{what}"


def switching_measure(band: int) -> str:
    return f"switching:{band}"


def risk_measure(band: int) -> str:
    return f"risk_band:{band}"


def stage_measure(stage: str) -> str:
    return f"stage:{stage}"


def funnel_measure(step: int) -> str:
    return f"funnel:{step}"


def _measures(has: Has) -> list[tuple[str, str]]:
    """(name, DuckDB aggregate) of every additive figure, over the wide table's rows."""
    measures = [("customers", "count(*)"), ("revenue", "coalesce(sum(revenue_window), 0)")]
    if has.month_revenue:
        measures.append(("revenue_m1", "coalesce(sum(arpu_m1), 0)"))
    for tier in ValueTier.values:
        where = f"value_tier = {sql_literal(tier)}"
        measures += [
            (tier_measure(tier, "customers"), f"count(*) FILTER (WHERE {where})"),
            (
                tier_measure(tier, "revenue"),
                f"coalesce(sum(revenue_window) FILTER (WHERE {where}), 0)",
            ),
        ]
        if has.clv:
            measures += [
                (
                    tier_measure(tier, "clv_sum"),
                    f"coalesce(sum(clv_12m) FILTER (WHERE {where}), 0)",
                ),
                (tier_measure(tier, "clv_n"), f"count(clv_12m) FILTER (WHERE {where})"),
            ]
    band = f"least(floor(switching_cost / 10), {SWITCHING_BANDS - 1})::INT"
    measures += [
        (switching_measure(b), f"count(*) FILTER (WHERE {band} = {b})")
        for b in range(SWITCHING_BANDS)
    ]
    if has.risk:
        # As the live report: a row with no risk falls in the last band.
        cases = " ".join(f"WHEN churn_risk < {u} THEN {i}" for i, u in enumerate(RISK_BANDS))
        risk_band = f"CASE {cases} ELSE {len(RISK_BANDS)} END"
        measures += [
            (risk_measure(b), f"count(*) FILTER (WHERE {risk_band} = {b})")
            for b in range(len(RISK_BANDS) + 1)
        ]
        measures.append(("expected_leavers", "coalesce(sum(churn_risk), 0)"))
    if has.lifecycle:
        measures += [
            (stage_measure(s), f"count(*) FILTER (WHERE lifecycle_stage = {sql_literal(s)})")
            for s in LifecycleStage.values
        ]
    if has.funnel:
        base = "NOT plan_5g AND NOT is_broadband_line"
        strong = f"upgrade_5g_rule AND upgrade_5g_propensity >= {STRONG_UPGRADE_PROPENSITY}"
        steps = ("true", "device_5g", "upgrade_5g_rule", strong, f"{strong} AND NOT do_not_disturb")
        measures += [
            (funnel_measure(i), f"count(*) FILTER (WHERE ({base}) AND ({condition}))")
            for i, condition in enumerate(steps)
        ]
    return measures


def grid_columns(has: Has) -> list[tuple[str, str]]:
    """The grid table's columns (`services.grid_report`) as DuckDB aggregates per grid."""
    risk = "round(100 * avg(churn_risk), 2)" if has.risk else "NULL"
    return [
        ("customers", "count(*)"),
        ("revenue", "round(sum(revenue_window), 2)"),
        (
            "key_and_large",
            f"count(*) FILTER (WHERE value_tier IN ('{ValueTier.KEY}', '{ValueTier.LARGE}'))",
        ),
        ("switching_cost", "round(avg(switching_cost), 1)"),
        ("churn_risk_percent", risk),
    ]


@dataclass(frozen=True)
class Summary:
    run_id: str
    has: Has
    everyone: Figures
    #: Grid code (NO_GRID: no grid) → (the grid table's row, the grid's figures).
    grids: dict[str, tuple[dict[str, Any], Figures]]
    #: Org unit code → (its grids when built, whether it includes no-grid customers, figures).
    units: dict[str, tuple[frozenset[str], bool, Figures]]

    def grid_figures(self, grids: Iterable[str], *, gridless: bool) -> Figures:
        """The figures of these grids (and of the customers with no grid), added up."""
        chosen = [self.grids[g][1] for g in set(grids) if g in self.grids]
        if gridless and NO_GRID in self.grids:
            chosen.append(self.grids[NO_GRID][1])
        return Figures.total(chosen)

    def unit_figures(
        self, units: Iterable[str], *, grids: Iterable[str], gridless: bool
    ) -> Figures | None:
        """The figures of these org units, added up, if their grids are still `grids` (and
        the customers with no grid in or out as `gridless`); None when a unit is not in the
        summary or the tree has changed since it was built."""
        found = [self.units.get(code) for code in units]
        if any(row is None for row in found):
            return None
        rows = [row for row in found if row is not None]
        held: set[str] = set()
        for unit_grids, _gridless, _figures in rows:
            if held & unit_grids:  # units that overlap would count grids twice
                return None
            held |= unit_grids
        if held != set(grids) or any(r[1] for r in rows) != gridless:
            return None
        return Figures.total(r[2] for r in rows)


def build(
    *, wide: Path, units: Mapping[str, UnitGrids], run_id: str, con: Any = None
) -> dict[str, Any]:
    """The summary of the wide table in folder `wide`, as JSON-ready data."""
    connection = con or duckdb.connect()
    relation = f"read_parquet({sql_literal(str(wide / '*.parquet'))})"
    described = connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    has = Has.of(str(row[0]) for row in described)
    measures = _measures(has)
    shown = grid_columns(has)
    selected = ", ".join(f"{sql} AS {quote(name)}" for name, sql in [*measures, *shown[1:]])
    # One pass over the rows, grouped by grid; everything else is added up from these.
    by_grid = connection.execute(
        f"SELECT grid_id, {selected} FROM {relation} GROUP BY grid_id"
    ).fetchall()
    drivers: dict[str, dict[str, int]] = {}
    if has.risk:
        for grid, reason, n in connection.execute(
            f"SELECT grid_id, reason, count(*) FROM (SELECT grid_id, "
            f"unnest(string_split(churn_reasons, ',')) AS reason FROM {relation} "
            "WHERE churn_reasons IS NOT NULL) GROUP BY ALL"
        ).fetchall():
            drivers.setdefault(grid or NO_GRID, {})[str(reason)] = int(n)
    grids: dict[str, dict[str, Any]] = {}
    figures_of: dict[str, Figures] = {}
    for row in by_grid:
        key = row[0] or NO_GRID
        values = dict(
            zip([name for name, _sql in measures], row[1 : 1 + len(measures)], strict=True)
        )
        figures = Figures(
            values={k: _plain(v) for k, v in values.items()}, drivers=drivers.get(key, {})
        )
        shown_values = [values["customers"], *row[1 + len(measures) :]]
        grids[key] = {
            "row": {"grid_id": row[0]}
            | {name: _plain(v) for (name, _sql), v in zip(shown, shown_values, strict=True)},
            "figures": figures.as_json(),
        }
        figures_of[key] = figures
    everyone = Figures.total(figures_of.values())
    unit_rows = {}
    for code, unit in units.items():
        members = sorted(set(unit.grids))
        chosen = [figures_of[g] for g in members if g in figures_of]
        if unit.gridless and NO_GRID in figures_of:
            chosen.append(figures_of[NO_GRID])
        unit_rows[code] = {
            "grids": members,
            "gridless": unit.gridless,
            "figures": Figures.total(chosen).as_json(),
        }
    return {
        "format": FORMAT,
        "run_id": run_id,
        "has": {
            "clv": has.clv,
            "risk": has.risk,
            "lifecycle": has.lifecycle,
            "funnel": has.funnel,
            "month_revenue": has.month_revenue,
        },
        "everyone": everyone.as_json(),
        "grids": grids,
        "units": unit_rows,
    }


def _plain(value: Any) -> Any:
    """JSON keeps whole numbers whole: a count stays an int, a sum a float."""
    if value is None or isinstance(value, int | str):
        return value
    return float(value)


def write(folder: Path, data: Mapping[str, Any]) -> Path:
    """Write `summary.json` into a snapshot folder in one step (a temporary file renamed), so a
    reader sees the whole file or none."""
    target = folder / SUMMARY
    temporary = folder / f".{SUMMARY}.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    os.replace(temporary, target)
    return target


def parse(data: Mapping[str, Any]) -> Summary:
    has = data["has"]
    return Summary(
        run_id=str(data["run_id"]),
        has=Has(
            clv=bool(has["clv"]),
            risk=bool(has["risk"]),
            lifecycle=bool(has["lifecycle"]),
            funnel=bool(has["funnel"]),
            month_revenue=bool(has.get("month_revenue", False)),
        ),
        everyone=Figures.from_json(data["everyone"]),
        grids={
            key: (dict(row["row"]), Figures.from_json(row["figures"]))
            for key, row in data["grids"].items()
        },
        units={
            code: (
                frozenset(row["grids"]),
                bool(row["gridless"]),
                Figures.from_json(row["figures"]),
            )
            for code, row in data["units"].items()
        },
    )


# Parsed summaries by file, kept per process: a snapshot's summary never changes once written,
# and a rewritten one (an older format rebuilt) has a new modification time.
_kept: KeptJson[Summary] = KeptJson(size=8)


def load(folder: Path, *, run_id: str) -> Summary | None:
    """The summary of the snapshot in `folder`; None when there is none, or it is of another
    format or another run (a folder copied over, say)."""
    return _kept.load(
        folder / SUMMARY,
        accept=lambda data: data.get("format") == FORMAT and data.get("run_id") == run_id,
        parse=parse,
    )
