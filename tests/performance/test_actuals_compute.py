"""The actuals computation: roll-ups (ratio of sums), staff attribution by date of fact,
incremental runs equal to full ones, and a publish that fails half-way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.performance.actuals import reading, rollup, store
from quanwang.performance.actuals.attribution import sync_responsibilities
from quanwang.performance.actuals.compute import compute, months_for, periods_for
from quanwang.performance.choices import Grain
from quanwang.performance.periods import parse
from tests import factories
from tests.performance.actuals_world import standard

AS_OF = dt.date(2024, 12, 20)


def _values(version: store.ActualsVersion) -> list[tuple[Any, ...]]:
    table = pq.read_table(version.values_path)
    rows = table.to_pylist()
    return sorted(
        (
            r["kpi"],
            r["grain"],
            r["key"],
            r["org_unit"],
            r["period"],
            r["numerator"],
            r["denominator"],
            r["value"],
        )
        for r in rows
    )


def test_units_roll_up_as_ratio_of_sums(tree: factories.Tree, tmp_path: Path) -> None:
    # given two grids in two cities with sales and customer figures
    world = standard(tmp_path / "facts")
    # when the actuals are computed
    version = compute(as_of=AS_OF, inputs=world.inputs())
    # then the province's December revenue is the two grids' sum
    revenue = reading.figures(
        kpi="revenue", grain=Grain.ORG_UNIT, period="2024-12", version=version
    )
    assert revenue["CA-1-G1"].value == 200.0
    assert revenue["CB-1-G1"].value == 100.0
    assert revenue["P1"].value == 300.0
    # and the province's churn rate is churned over customers summed, not the mean of rates
    churn = reading.figures(
        kpi="churn_rate", grain=Grain.ORG_UNIT, period="2024Q4", version=version
    )
    a, b, p = churn["CA-1-G1"], churn["CB-1-G1"], churn["P1"]
    assert p.numerator == a.numerator + b.numerator
    assert p.denominator == a.denominator + b.denominator
    assert p.value == pytest.approx(p.numerator / p.denominator)
    assert p.value != pytest.approx((a.value + b.value) / 2)
    # and a stock is read at the quarter's last month, a flow adds its months up
    customers = reading.figures(
        kpi="customers", grain=Grain.ORG_UNIT, period="2024Q4", version=version
    )
    assert customers["CA-1-G1"].value == 112.0
    stores = reading.figures(kpi="store_sales", grain=Grain.STORE, period="2024", version=version)
    assert stores["S-A"].value == 220.0
    assert stores["S-A"].org_unit == "CA-1-G1"
    # and the version names its business day and what it computed
    assert version.as_of == AS_OF
    assert "2024Q3" in version.details["periods"]
    assert "2024-11" in version.details["periods"]


def test_business_day_months_and_periods() -> None:
    # given a business day in January
    day = dt.date(2025, 1, 10)
    # when the months to compute are chosen
    months = months_for(day)
    # then they hold the running month, the month before and the quarter before
    assert months == ["2024-10", "2024-11", "2024-12", "2025-01"]
    codes = [p.code for p in periods_for(day, months)]
    assert {"2025-01", "2025Q1", "2025", "2024-12", "2024Q4"} <= set(codes)
    # and no year is published whose months were not all computed
    assert "2024" not in codes


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["G1", "G2", "G3", "G4"]),
            st.integers(min_value=1, max_value=12),
            st.integers(min_value=0, max_value=50),
            st.integers(min_value=0, max_value=60),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_unit_is_the_sum_of_its_children(rows: list[tuple[str, int, int, int]]) -> None:
    # given base values of a ratio KPI over four grids in two counties of one city
    paths = [
        ("C", "/C/"), ("K1", "/C/K1/"), ("K2", "/C/K2/"),
        ("G1", "/C/K1/G1/"), ("G2", "/C/K1/G2/"), ("G3", "/C/K2/G3/"), ("G4", "/C/K2/G4/"),
    ]  # fmt: skip
    base = pa.Table.from_pylist(
        [
            {
                "kpi": "rate", "grain": "org_unit", "key": g, "org_unit": g,
                "day": dt.date(2024, m, 28), "month": f"2024-{m:02d}",
                "numerator": float(n), "denominator": float(d),
            }
            for g, m, n, d in rows
        ],
        schema=rollup.BASE_SCHEMA,
    )  # fmt: skip
    periods = [parse("2024"), parse("2024Q1"), parse("2024-01")]
    # when it is rolled up
    values = rollup.roll_up(
        base,
        ancestors=rollup.ancestors_table(paths),
        intervals=pa.Table.from_pylist([], schema=rollup_interval_schema()),
        staff=pa.Table.from_pylist([], schema=rollup_staff_schema()),
        periods=periods,
        stock_kpis=[],
    ).to_pylist()
    found = {(r["key"], r["period"]): r for r in values}
    children = {"C": ["K1", "K2"], "K1": ["G1", "G2"], "K2": ["G3", "G4"]}
    # then every unit's numerator and denominator are its children's sums, its value the ratio
    for period in ("2024", "2024Q1", "2024-01"):
        for parent, kids in children.items():
            if (parent, period) not in found:
                assert all((k, period) not in found for k in kids)
                continue
            row = found[(parent, period)]
            kid_rows = [found[(k, period)] for k in kids if (k, period) in found]
            assert row["numerator"] == sum(k["numerator"] for k in kid_rows)
            assert row["denominator"] == sum(k["denominator"] for k in kid_rows)
            expected = row["numerator"] / row["denominator"] if row["denominator"] else None
            assert row["value"] == (pytest.approx(expected) if expected is not None else None)


def rollup_interval_schema() -> pa.Schema:
    from quanwang.performance.actuals.attribution import INTERVAL_SCHEMA

    return INTERVAL_SCHEMA


def rollup_staff_schema() -> pa.Schema:
    from quanwang.performance.actuals.attribution import STAFF_SCHEMA

    return STAFF_SCHEMA


def test_staff_who_moves_mid_period_keeps_the_days_they_held(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given grid CA-1-G1 held by A from the start, then by B from 11 December
    a = factories.staff(at=tree.county_a, employee_no="EA")
    b = factories.staff(at=tree.county_a, employee_no="EB")
    sync_responsibilities(on=dt.date(2024, 1, 1), grid_holders={"CA-1-G1": "EA"})
    sync_responsibilities(on=dt.date(2024, 12, 11), grid_holders={"CA-1-G1": "EB"})
    world = standard(tmp_path / "facts")
    # when the actuals are computed
    version = compute(as_of=AS_OF, inputs=world.inputs())
    staff = reading.figures(kpi="revenue", grain=Grain.STAFF, period="2024-12", version=version)
    # then A has the sales of 1–10 December, B those of 11–20, and together the grid's
    assert staff["EA"].value == 100.0
    assert staff["EB"].value == 100.0
    grid = reading.figure(
        kpi="revenue", grain=Grain.ORG_UNIT, key="CA-1-G1", period="2024-12", version=version
    )
    assert grid is not None
    assert staff["EA"].value + staff["EB"].value == grid.value
    # and the month-end customer figure goes to who held the grid on the month's last day
    customers = reading.figures(
        kpi="customers", grain=Grain.STAFF, period="2024-12", version=version
    )
    assert "EA" not in customers
    assert customers["EB"].value == 112.0
    # and the staff figures belong to the unit their staff record is held at
    assert staff["EA"].org_unit == a.org_unit.code == b.org_unit.code


def test_a_late_correction_recomputes_only_its_months_and_equals_a_full_run(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given the actuals computed once
    world = standard(tmp_path / "facts")
    compute(as_of=AS_OF, inputs=world.inputs())
    # when a November sale arrives late and the run is incremental
    world.add_sale("CA-1-G1", "S-A", dt.date(2024, 11, 5), 7.0)
    incremental = compute(as_of=AS_OF, inputs=world.inputs())
    # then only the sales KPIs' November was recomputed
    assert incremental.details["full"] is False
    assert incremental.details["recomputed"] == {"revenue": ["2024-11"], "store_sales": ["2024-11"]}
    # and its figures are exactly those of a full run
    full = compute(as_of=AS_OF, full=True, inputs=world.inputs())
    assert full.details["full"] is True
    assert _values(incremental) == _values(full)
    nov = reading.figure(
        kpi="revenue", grain=Grain.ORG_UNIT, key="P1", period="2024-11", version=incremental
    )
    assert nov is not None
    assert nov.value == 27.0


def test_nothing_changed_recomputes_nothing(tree: factories.Tree, tmp_path: Path) -> None:
    # given the actuals computed once
    world = standard(tmp_path / "facts")
    first = compute(as_of=AS_OF, inputs=world.inputs())
    # when they are computed again on the same facts
    again = compute(as_of=AS_OF, inputs=world.inputs())
    # then nothing is recomputed and the figures are the same
    assert again.details["recomputed"] == {}
    assert _values(again) == _values(first)


def test_an_interrupted_publish_leaves_the_old_version_current(
    tree: factories.Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a current version
    world = standard(tmp_path / "facts")
    before = compute(as_of=AS_OF, inputs=world.inputs())
    world.add_sale("CB-1-G1", "S-B", dt.date(2024, 12, 2), 1000.0)

    # when the next publish dies while writing its manifest
    def boom(path: Path, text: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "_write_atomically", boom)
    with pytest.raises(OSError, match="disk full"):
        compute(as_of=AS_OF, inputs=world.inputs())
    monkeypatch.undo()
    # then the pages still read the old version, whole
    now = store.current()
    assert now is not None
    assert now.version == before.version
    assert (
        reading.figure(kpi="revenue", grain=Grain.ORG_UNIT, key="P1", period="2024-12").value
        == 300.0
    )  # type: ignore[union-attr]
    # and the next run recomputes from it
    after = compute(as_of=AS_OF, inputs=world.inputs())
    assert (
        reading.figure(
            kpi="revenue", grain=Grain.ORG_UNIT, key="P1", period="2024-12", version=after
        ).value
        == 1300.0
    )  # type: ignore[union-attr]


def test_a_kpi_whose_fact_table_is_missing_is_left_out_and_named(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a catalogue with a KPI over a table the warehouse does not hold
    from dataclasses import replace

    from tests.performance.actuals_world import definitions

    catalogue = definitions()
    catalogue["ghost"] = replace(catalogue["revenue"], code="ghost", inputs=("no_such_table",))
    world = standard(tmp_path / "facts")
    # when the actuals are computed
    version = compute(as_of=AS_OF, inputs=world.inputs(catalogue))
    # then the others are there and the missing table is named
    assert version.details["skipped"] == {"ghost": ["no_such_table"]}
    assert (
        reading.figures(kpi="ghost", grain=Grain.ORG_UNIT, period="2024-12", version=version) == {}
    )
    assert reading.figures(kpi="revenue", grain=Grain.ORG_UNIT, period="2024-12", version=version)
