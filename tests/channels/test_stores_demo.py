"""The demo operator's stores: synced, graded for the newest month with reasons, covered."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from quanwang.channels.models import GradingRun, Store, StoreGrading
from quanwang.channels.stores.coverage import coverage
from quanwang.channels.stores.demo import build_demo
from quanwang.channels.stores.regrading import newest_sales_month
from quanwang.data.demo import build_operator_demo


def _state() -> list[Any]:
    return list(
        StoreGrading.objects.order_by("store__store_id", "month").values_list(
            "store__store_id", "month", "grade", "score"
        )
    )


def test_demo_stores_are_graded_with_reasons_and_covered(db: None) -> None:
    # given the small demo city
    build_operator_demo(subscribers=1500, months=3, seed=3)
    said: list[str] = []
    # when the stores part builds its demo
    build_demo(say=said.append)
    # then every store of the warehouse is in the store file, graded for the newest month
    newest = newest_sales_month()
    assert newest is not None
    stores = Store.objects.filter(active=True).count()
    assert stores > 0
    assert StoreGrading.objects.filter(month=newest).count() == stores
    assert GradingRun.objects.filter(month=newest).exists()
    graded = StoreGrading.objects.filter(month=newest).first()
    assert graded is not None
    assert set(graded.criteria) == {"sales", "footfall", "conversion", "location", "growth"}
    # and the province's coverage view has the demo's grids
    admin = get_user_model().objects.get(username="admin")
    assert sum(len(c.grids) for c in coverage(user=admin)) > 0
    # and building it again changes nothing
    before = _state()
    build_demo(say=said.append)
    assert _state() == before
