"""Custom KPIs: checked at save (each error names its field), averages refused, saved once."""

from __future__ import annotations

from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.performance.kpis.catalogue import catalogue
from quanwang.performance.kpis.custom import check_definition
from quanwang.performance.kpis.services import save_custom_kpi
from quanwang.performance.models import CustomKpi
from tests import factories
from tests.performance import kpis_world as w

GOOD = {
    "code": "big_bills",
    "name": "高额账单用户",
    "unit": "户",
    "direction": "higher",
    "aggregation": "sum",
    "over_time": "flow",
    "table": "monthly_usage",
    "measure": "count",
    "filters": [{"column": "arpu", "op": ">=", "value": "80"}],
}


def _refused(**change: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        check_definition({**GOOD, **change})
    return caught.value


def test_missing_table_is_refused(db: None) -> None:
    assert _refused(table="no_such_table").field == "table"


def test_missing_column_is_refused(db: None) -> None:
    error = _refused(measure="sum", column="no_such_column")
    assert error.field == "column"
    assert "no_such_column" in error.message


def test_average_is_refused_with_a_ratio_of_sums_hint(db: None) -> None:
    # given an average as the measure, or a sum of a per-row ratio
    for change, field in (({"measure": "avg", "column": "arpu"}, "measure"),
                          ({"measure": "sum", "column": "plan_saturation"}, "column"),
                          ({"aggregation": "average"}, "aggregation")):  # fmt: skip
        error = _refused(**change)
        # then it is refused, naming the field and pointing to a ratio of sums
        assert error.field == field
        from django.utils import translation

        with translation.override("en"):
            assert "ratio of sums" in str(_refused(**change).message)


def test_bad_filter_value_names_the_filter(db: None) -> None:
    error = _refused(filters=[{"column": "arpu", "op": ">=", "value": "lots"}])
    assert error.field == "filters[0].value"
    assert _refused(filters=[{"column": "arpu", "op": "~", "value": "1"}]).field == "filters[0].op"


def test_ratio_needs_a_denominator(db: None) -> None:
    assert _refused(aggregation="ratio").field == "denominator_measure"


def test_a_sum_of_text_is_refused(db: None) -> None:
    assert _refused(measure="sum", column="month").field == "column"


def test_good_definition_runs_and_joins_the_catalogue(tree: Any) -> None:
    # given the small world's warehouse
    w.write_warehouse()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    # when a province admin saves it twice (a double submit)
    first = save_custom_kpi(user=admin, data=GOOD)
    second = save_custom_kpi(user=admin, data=GOOD)
    # then it is saved once and is in the catalogue, built like any KPI
    assert first.pk == second.pk
    assert CustomKpi.objects.count() == 1
    kpi = catalogue()["big_bills"]
    import ibis

    from quanwang.performance.kpis.facts import open_fact_tables

    con = ibis.duckdb.connect()
    found = w.values(con, kpi, open_fact_tables(con, snapshot=None, extracts={}))
    # s1 (100) in G1, s5 (80) in G2; s7 has no grid
    assert found == {("org_unit", w.G1): (1.0, None), ("org_unit", w.G2): (1.0, None)}


def test_another_definition_under_a_taken_code_is_refused(tree: Any) -> None:
    w.write_warehouse()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    save_custom_kpi(user=admin, data=GOOD)
    with pytest.raises(ServiceError) as caught:
        save_custom_kpi(user=admin, data={**GOOD, "name": "另一个"})
    assert caught.value.field == "code"
    with pytest.raises(ServiceError) as builtin:
        save_custom_kpi(user=admin, data={**GOOD, "code": "customers"})
    assert builtin.value.field == "code"
    assert CustomKpi.objects.count() == 1


def test_a_grid_manager_may_not_add_kpis(tree: Any) -> None:
    w.write_warehouse()
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    with pytest.raises(NotFound):
        save_custom_kpi(user=manager, data=GOOD)
    assert not CustomKpi.objects.exists()


def test_ratio_custom_kpi_is_a_ratio_of_sums(tree: Any) -> None:
    # given billed lines over 80 yuan out of all billed lines
    w.write_warehouse()
    definition = {
        **GOOD,
        "code": "big_share",
        "aggregation": "ratio",
        "denominator_measure": "count",
    }
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    save_custom_kpi(user=admin, data=definition)
    import ibis

    from quanwang.performance.kpis.facts import open_fact_tables

    con = ibis.duckdb.connect()
    found = w.values(
        con, catalogue()["big_share"], open_fact_tables(con, snapshot=None, extracts={})
    )
    # then G1: 1 of 3 billed lines, G2: 1 of 1
    assert found == {("org_unit", w.G1): (1.0, 3.0), ("org_unit", w.G2): (1.0, 1.0)}
