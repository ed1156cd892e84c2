"""The built-in KPIs on a small world with known answers, agreement with the grid scorecards,
and the catalogue's lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pytest
from django.conf import settings

from quanwang.channels.scorecards.services.compute import compute
from quanwang.performance.kpis.catalogue import (
    KpiNotFound,
    builtins,
    catalogue,
    get,
    missing_inputs,
)
from quanwang.performance.kpis.facts import month_of, open_fact_tables
from tests.performance import kpis_world as w

G1, G2 = ("org_unit", w.G1), ("org_unit", w.G2)
EXPECTED: dict[str, dict[tuple[str, str], tuple[float, float | None]]] = {
    "customers": {G1: (3, None), G2: (1, None)},
    "billed_customers": {G1: (3, None), G2: (1, None)},
    "net_adds": {G1: (0, None)},
    "churn_rate": {G1: (1, 3), G2: (0, 1)},
    "revenue": {G1: (180, None), G2: (80, None)},
    "arpu": {G1: (180, 3), G2: (80, 1)},
    "penetration_5g": {G1: (1, 2), G2: (0, 1)},
    "broadband_penetration": {G1: (2, 2), G2: (1, 1)},
    "complaints": {G1: (1, None)},
    "new_5g_plans": {("store", "ST1"): (1, None)},
    "new_broadband": {("store", "ST1"): (1, None)},
    "acceptance_rate": {G1: (4, 10)},
    "incremental_takers": {G1: (0.5, None)},
    "task_completion": {G1: (3, 5)},
    "visit_attainment": {("store", "ST1"): (4, 4)},
    "store_sales": {("store", "ST1"): (399.5, None)},
    "store_units": {("store", "ST1"): (4, None)},
    "account_revenue": {("account", "E1"): (150, None)},
    "opportunities_won": {("account", "E1"): (1, None)},
    "account_visits": {("staff", "E100"): (1, None)},
}


@pytest.fixture
def world() -> Any:
    w.write_warehouse()
    extracts = w.write_extracts(Path(settings.VAR_DIR) / "extracts")
    con = ibis.duckdb.connect()
    yield con, open_fact_tables(con, snapshot=None, extracts=extracts)
    con.disconnect()


def _close(found: dict[Any, Any], expected: dict[Any, Any]) -> bool:
    return found.keys() == expected.keys() and all(
        found[k][0] == pytest.approx(expected[k][0])
        and found[k][1] == pytest.approx(expected[k][1])
        for k in expected
    )


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_builtin_kpi_gives_the_known_answer(world: Any, code: str) -> None:
    # given the small world of June 2024
    con, tables = world
    # when the KPI's base values are built
    found = w.values(con, get(code), tables)
    # then they are the known ones (a ratio's numerator and denominator apart)
    assert _close(found, EXPECTED[code]), found


def test_base_values_have_the_contract_columns(world: Any) -> None:
    _con, tables = world
    for kpi in builtins().values():
        if set(kpi.inputs) - set(tables):
            continue
        assert kpi.build(tables, w.CTX).columns == (
            "grain",
            "key",
            "org_unit",
            "day",
            "numerator",
            "denominator",
        ), kpi.code


def test_customer_kpis_agree_with_the_grid_scorecards(world: Any) -> None:
    # given the scorecards' figures of the same files
    con, tables = world
    from quanwang.data.warehouse import Warehouse

    files = {
        n: Warehouse().read_file(n) for n in ("subscribers", "plans", "monthly_usage", "grids")
    }
    cards = compute(files=files).figures
    pairs = {
        "customers": ("customers", None),
        "churn_rate": ("churns", "customers_start"),
        "revenue": ("revenue", None),
        "arpu": ("revenue", "billed"),
        "penetration_5g": ("on_5g", "mobile"),
        "broadband_penetration": ("with_broadband", "mobile"),
    }
    for code, (top, bottom) in pairs.items():
        # when the KPI is built
        found = w.values(con, get(code), tables)
        # then each grid's numerator and denominator are the scorecard's measures
        for grid in (w.G1, w.G2):
            month = cards[grid][w.MONTH]
            numerator, denominator = found.get(("org_unit", grid), (0.0, 0.0 if bottom else None))
            assert numerator == pytest.approx(month.get(top, 0)), (code, grid)
            if bottom:
                assert denominator == pytest.approx(month.get(bottom, 0)), (code, grid)
    net = w.values(con, get("net_adds"), tables)
    card = cards[w.G1][w.MONTH]
    assert net[G1][0] == card["joins"] - card["churns"]


def test_facts_are_dated_by_month(world: Any) -> None:
    con, tables = world
    months = con.to_pyarrow(tables["complaints"].select(m=month_of(tables["complaints"])))
    assert sorted(months.column("m").to_pylist()) == ["2024-05", "2024-06"]
    assert month_of(tables["subscribers"]) is None


def test_unknown_kpi_names_its_code(db: None) -> None:
    with pytest.raises(KpiNotFound) as caught:
        get("no_such_kpi")
    assert "no_such_kpi" in caught.value.message
    assert "customers" in catalogue()


def test_missing_fact_table_is_named(db: None) -> None:
    # given a warehouse without store sales
    w.write_warehouse(skip=("store_sales",))
    # then the KPIs reading it name it, and the others miss nothing
    assert missing_inputs(get("store_sales")) == ["store_sales"]
    assert missing_inputs(get("customers")) == []
