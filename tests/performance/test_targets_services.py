"""Setting, decomposing and changing targets: sums kept, locked kept, refusals that name the
field and save nothing, other scopes not found, double submits, history."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.performance.choices import Grain
from quanwang.performance.models.targets import Target, TargetChange
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import ChangeKind
from quanwang.performance.targets.services import change_target, decompose, set_target
from tests import factories
from tests.performance.targets_support import CHURN, actuals, kpi, register

pytestmark = pytest.mark.django_db

Q2 = "2024Q2"


@pytest.fixture
def admin(tree: Any, monkeypatch: Any) -> Any:
    register(monkeypatch)
    return factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)


def _sum(children: list[Target]) -> Decimal:
    return sum((c.value for c in children), Decimal(0))


def test_set_target_and_history(tree: Any, admin: Any) -> None:
    # when the province sets its quarter's revenue target twice with the same value
    first = set_target(
        kpi="t_revenue",
        period=Q2,
        grain="org_unit",
        key="P1",
        value="1000.5",
        deadline=None,
        by=admin,
        reason="年度分解",
    )
    again = set_target(
        kpi="t_revenue",
        period=Q2,
        grain="org_unit",
        key="P1",
        value="1000.5",
        deadline=None,
        by=admin,
        reason="年度分解",
    )
    # then one target exists, due at the quarter's end, with one history line
    assert first.pk == again.pk
    assert Target.objects.count() == 1
    assert first.deadline == dt.date(2024, 6, 30)
    change = TargetChange.objects.get()
    assert (change.kind, change.after, change.changed_by) == (
        ChangeKind.SET,
        Decimal("1000.5"),
        admin,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kpi": "nope"}, "kpi"),
        ({"period": "2024-13"}, "period"),
        ({"deadline": dt.date(2024, 3, 1)}, "deadline"),
        ({"value": "abc"}, "value"),
        ({"value": "-1"}, "value"),
        ({"grain": "planet"}, "grain"),
    ],
)
def test_set_target_refusals_name_the_field(
    admin: Any, changes: dict[str, Any], field: str
) -> None:
    # given a bad input; when the target is set; then the error names the field, nothing saved
    given_input: dict[str, Any] = {
        "kpi": "t_revenue",
        "period": Q2,
        "grain": "org_unit",
        "key": "P1",
        "value": "10",
        "deadline": None,
    }
    with pytest.raises(ServiceError) as refused:
        set_target(**(given_input | changes), by=admin, reason="")
    assert refused.value.field == field
    assert not Target.objects.exists()


def test_kpi_with_a_missing_fact_table_is_refused_naming_it(admin: Any, monkeypatch: Any) -> None:
    # given a KPI reading a store-sales table the warehouse lacks
    stores = kpi("t_store_sales", inputs=("store_sales",))
    register(monkeypatch, stores)
    monkeypatch.setattr(kpis, "missing_inputs", lambda d: list(d.inputs))
    # when a target is set on it; then it is refused, naming the table
    with pytest.raises(ServiceError) as refused:
        set_target(
            kpi="t_store_sales",
            period=Q2,
            grain="org_unit",
            key="P1",
            value=1,
            deadline=None,
            by=admin,
            reason="",
        )
    assert refused.value.field == "kpi"
    assert "store_sales" in refused.value.message
    assert not Target.objects.exists()


def test_grain_the_kpi_lacks(admin: Any, monkeypatch: Any) -> None:
    # given a KPI kept for units only
    register(monkeypatch, kpi("t_units_only", grains=frozenset({Grain.ORG_UNIT})))
    # when a staff member's target is set on it; then the grain is refused
    with pytest.raises(ServiceError) as refused:
        set_target(
            kpi="t_units_only",
            period=Q2,
            grain="staff",
            key="E1",
            value=1,
            deadline=None,
            by=admin,
            reason="",
        )
    assert refused.value.field == "grain"
    assert not Target.objects.exists()


def test_other_scope_is_not_found(tree: Any, monkeypatch: Any) -> None:
    # given city A's marketer
    register(monkeypatch)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    # when they set a target for city B; then it is not found, like a unit that does not exist
    for key in ("CB", "NOWHERE"):
        with pytest.raises(NotFound):
            set_target(
                kpi="t_revenue",
                period=Q2,
                grain="org_unit",
                key=key,
                value=1,
                deadline=None,
                by=marketer,
                reason="",
            )
    # and their own city works
    assert (
        set_target(
            kpi="t_revenue",
            period=Q2,
            grain="org_unit",
            key="CA",
            value=1,
            deadline=None,
            by=marketer,
            reason="",
        ).org_unit
        == tree.city_a
    )


def _top(admin: Any, value: str = "1000", code: str = "t_revenue") -> Target:
    return set_target(
        kpi=code,
        period=Q2,
        grain="org_unit",
        key="P1",
        value=value,
        deadline=None,
        by=admin,
        reason="",
    )


def test_decompose_by_last_share_sums_exactly(tree: Any, admin: Any) -> None:
    # given last quarter's revenue 1 : 2 between the cities
    actuals(
        [
            ("t_revenue", "org_unit", "CA", "CA", "2024Q1", 100.0),
            ("t_revenue", "org_unit", "CB", "CB", "2024Q1", 200.0),
        ],
        as_of=dt.date(2024, 4, 10),
    )
    top = _top(admin, "1000")
    # when the province's target is decomposed over the cities
    children = decompose(parent=top, rule="last_share", into="units", by=admin, reason="按份额")
    # then the shares are 1 : 2 to the cent and add up to the parent exactly
    assert [c.value for c in children] == [Decimal("333.33"), Decimal("666.67")]
    assert _sum(children) == top.value
    top.refresh_from_db()
    assert top.rule == "last_share"
    # and decomposing again changes nothing and writes no new history
    count = TargetChange.objects.count()
    again = decompose(parent=top, rule="last_share", into="units", by=admin, reason="")
    assert [c.pk for c in again] == [c.pk for c in children]
    assert TargetChange.objects.count() == count


def test_decompose_keeps_locked_children(tree: Any, admin: Any) -> None:
    actuals(
        [
            ("t_customers", "org_unit", "CA", "CA", "2024Q2", 10.0),
            ("t_customers", "org_unit", "CB", "CB", "2024Q2", 30.0),
        ],
        as_of=dt.date(2024, 4, 10),
    )
    top = _top(admin, "1000")
    monkey_children = decompose(
        parent=top, rule="manual", into="units", by=admin, manual={"CA": 600, "CB": 400}
    )
    Target.objects.filter(pk=monkey_children[0].pk).update(locked=True)
    # when it is decomposed again by customer base (CA 10, CB 30)
    import quanwang.performance.targets.services.decomposing as decomposing

    decomposing.CUSTOMERS_KPI = "t_customers"
    try:
        children = decompose(parent=top, rule="customer_base", into="units", by=admin)
    finally:
        decomposing.CUSTOMERS_KPI = "customers"
    # then the locked city keeps 600 and the other takes the rest
    assert [c.value for c in children] == [Decimal("600"), Decimal("400")]


def test_manual_that_does_not_sum_is_refused_with_the_difference(tree: Any, admin: Any) -> None:
    top = _top(admin, "1000")
    with pytest.raises(ServiceError) as refused:
        decompose(parent=top, rule="manual", into="units", by=admin, manual={"CA": 500, "CB": 400})
    assert refused.value.field == "manual"
    assert "100" in refused.value.message
    assert Target.objects.count() == 1


def test_ratio_children_get_the_parents_rate(tree: Any, admin: Any) -> None:
    top = _top(admin, "0.02", code=CHURN.code)
    children = decompose(parent=top, rule="last_share", into="units", by=admin)
    assert [c.value for c in children] == [Decimal("0.02"), Decimal("0.02")]


def test_decompose_over_staff_and_no_figures(tree: Any, admin: Any) -> None:
    # given a grid with two staff and no figures to share by
    factories.staff(at=tree.grid_a, employee_no="E1")
    factories.staff(at=tree.grid_a, employee_no="E2")
    grid = set_target(
        kpi="t_revenue",
        period=Q2,
        grain="org_unit",
        key="CA-1-G1",
        value="10",
        deadline=None,
        by=admin,
        reason="",
    )
    with pytest.raises(ServiceError) as refused:
        decompose(parent=grid, rule="last_share", into="staff", by=admin)
    assert refused.value.field == "rule"
    children = decompose(
        parent=grid, rule="manual", into="staff", by=admin, manual={"E1": 7, "E2": 3}
    )
    assert [(c.grain, c.key, c.staff.employee_no) for c in children] == [
        ("staff", "E1", "E1"),
        ("staff", "E2", "E2"),
    ]


def _family(admin: Any, tree: Any) -> tuple[Target, Target, Target]:
    top = _top(admin, "1000")
    a, b = decompose(
        parent=top, rule="manual", into="units", by=admin, manual={"CA": 600, "CB": 400}
    )
    return top, a, b


def test_change_absorbed_by_siblings_parent_or_one_sibling(tree: Any, admin: Any) -> None:
    top, a, _b = _family(admin, tree)
    # siblings: CB gives up what CA takes
    change_target(
        target=a, value=700, absorb="siblings", by=admin, reason="调整", expected_before="600"
    )
    assert [t.value for t in Target.objects.filter(parent=top).order_by("key")] == [700, 300]
    # parent: the province grows with CA
    change_target(
        target=a, value=800, absorb="parent", by=admin, reason="加码", expected_before="700"
    )
    top.refresh_from_db()
    assert top.value == 1100
    # history: who, what, why and kind
    kinds = set(TargetChange.objects.filter(reason="调整").values_list("kind", flat=True))
    assert kinds == {ChangeKind.CHANGED, ChangeKind.BALANCED}


def test_change_refusals_and_double_submit(tree: Any, admin: Any) -> None:
    top, a, b = _family(admin, tree)
    change_target(
        target=a, value=650, absorb="siblings", by=admin, reason="一", expected_before=600
    )
    # a double submit of the same form is refused, not applied twice
    with pytest.raises(ServiceError) as stale:
        change_target(
            target=a, value=650, absorb="siblings", by=admin, reason="一", expected_before=600
        )
    assert stale.value.field == "value"
    # a locked sibling cannot take the difference; more than the siblings hold is impossible
    Target.objects.filter(pk=b.pk).update(locked=True)
    with pytest.raises(ServiceError) as locked:
        change_target(
            target=a,
            value=700,
            absorb="sibling",
            sibling="CB",
            by=admin,
            reason="二",
            expected_before=650,
        )
    assert locked.value.field == "absorb"
    Target.objects.filter(pk=b.pk).update(locked=False)
    with pytest.raises(ServiceError) as too_much:
        change_target(
            target=a, value=2000, absorb="siblings", by=admin, reason="三", expected_before=650
        )
    assert too_much.value.field == "absorb"
    assert [t.value for t in Target.objects.filter(parent=top).order_by("key")] == [650, 350]


def test_other_scope_cannot_change(tree: Any, admin: Any) -> None:
    top, _a, b = _family(admin, tree)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    with pytest.raises(NotFound):
        change_target(
            target=b, value=1, absorb="parent", by=marketer, reason="x", expected_before=400
        )
    with pytest.raises(NotFound):
        decompose(parent=top, rule="manual", into="units", by=marketer, manual={"CA": 1000})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    total=st.integers(min_value=0, max_value=10**7),
    weights=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
    moves=st.lists(
        st.tuples(
            st.sampled_from(["CA", "CB"]),
            st.integers(0, 10**6),
            st.sampled_from(["siblings", "parent", "sibling"]),
        ),
        max_size=3,
    ),
)
def test_sums_hold_after_decompose_and_changes(
    tree: Any, admin: Any, total: int, weights: tuple[int, int], moves: list[Any]
) -> None:
    # given any total and any basis, decomposed to the cent
    Target.objects.exclude(parent=None).delete()
    Target.objects.all().delete()
    actuals(
        [
            ("t_revenue", "org_unit", "CA", "CA", "2024Q1", float(weights[0])),
            ("t_revenue", "org_unit", "CB", "CB", "2024Q1", float(weights[1])),
        ],
        as_of=dt.date(2024, 4, 1),
    )
    top = _top(admin, f"{total / 100:.2f}")
    if not any(weights):
        with pytest.raises(ServiceError):
            decompose(parent=top, rule="last_share", into="units", by=admin)
        return
    decompose(parent=top, rule="last_share", into="units", by=admin)
    # when any changes are made, each absorbed somewhere (or refused)
    for key, cents, absorb in moves:
        child = Target.objects.get(parent=top, key=key)
        with contextlib.suppress(ServiceError):
            change_target(
                target=child,
                value=Decimal(cents) / 100,
                absorb=absorb,
                sibling="CB" if key == "CA" else "CA",
                by=admin,
                reason="h",
                expected_before=child.value,
            )
    # then the children always add up to the parent, and nothing is below zero
    top.refresh_from_db()
    children = list(Target.objects.filter(parent=top))
    assert _sum(children) == top.value
    assert all(c.value >= 0 for c in children)
