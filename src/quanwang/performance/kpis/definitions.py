"""What a KPI is (the contract every part of the performance app reads).

A KPI is defined once: its Chinese name, unit, direction, how it adds up (a sum, or a ratio of
two sums — never an average of ratios), how months make a quarter (flow or stock), the grains
it exists at, the fact tables it reads, and `build`: an Ibis expression of its *base values*.

Base values (what `build` returns; performance.actuals rolls them up):
an Ibis table with one row per (grain, key, day) at most and the columns
- `grain`: a performance.choices.Grain value, at a base grain only: ORG_UNIT with the grid's
  code as key, STORE (store_id), ACCOUNT (enterprise_id), or STAFF (employee number) for facts
  done by a person (a visit logged, a task worked);
- `key`, `org_unit` (the grid or unit code the key belongs to);
- `day` (date): the fact's day; a monthly fact is dated on its month's last day, or on the
  as-of day for the running month;
- `numerator` (float64), `denominator` (float64; NULL for a SUM KPI).

`catalogue()` (performance.kpis.catalogue) lists the built-in KPIs and the saved custom ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime

#: name → Ibis table of the facts a KPI may read (performance.kpis.facts opens them).
FactTables = Mapping[str, Any]

BASE_COLUMNS = ("grain", "key", "org_unit", "day", "numerator", "denominator")


@dataclass(frozen=True)
class BuildContext:
    #: The business day the figures run to: facts after it are left out.
    as_of: dt.date
    #: The months ("YYYY-MM") to compute; facts of other months may be left out early.
    months: tuple[str, ...]


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    name: str | Promise
    unit: str | Promise
    direction: Direction
    aggregation: Aggregation
    over_time: OverTime
    grains: frozenset[Grain]
    #: The fact tables `build` reads (a target on the KPI is refused while one is missing).
    inputs: tuple[str, ...]
    build: Callable[[FactTables, BuildContext], Any] = field(compare=False, repr=False)
    description: str | Promise = ""
    builtin: bool = True
    #: Digits the KPI's values and targets are rounded to (0: whole customers, yuan…).
    decimals: int = 0
    #: Added by performance.kpis: the fact rows behind the base values, one row per fact, with
    #: the base columns (each row's own numerator and denominator) and `detail` columns; `build`
    #: is their sums by (grain, key, org_unit, day), so a drill-down adds up to the value.
    facts: Callable[[FactTables, BuildContext], Any] | None = field(
        default=None, compare=False, repr=False
    )
    #: The detail columns of `facts`: (column, label) in the order a drill-down shows them.
    detail: tuple[tuple[str, str | Promise], ...] = ()
    #: Whether `build` reads a snapshot table (the wide table or the win-over pool).
    uses_snapshot: bool = False
