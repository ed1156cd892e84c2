"""Background work of the stores part: the re-grade job, and the nightly step that keeps the
store file in step with the warehouse and grades the newest month."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.channels.stores.regrading import newest_sales_month, regrade
from quanwang.channels.stores.sync import sync_after_import, sync_stores
from quanwang.core import nightly
from quanwang.core.choices import JobKind
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import RESULT_LABELS, JobContext, register
from quanwang.data.after_import import after_import

logger = logging.getLogger(__name__)

# The store file follows each import of the warehouse's stores table.
after_import("stores", "store_file")(sync_after_import)

RESULT_LABELS.update(
    {
        "month": gettext_lazy("Month"),
        "stores_graded": gettext_lazy("Stores graded"),
        "key_stores": gettext_lazy("Key stores"),
        "anchor_stores": gettext_lazy("Anchor stores"),
        "small_stores": gettext_lazy("Small stores"),
        "rule_set_version": gettext_lazy("Rule set version"),
        "stores_listed": gettext_lazy("Stores listed"),
        "stores_deactivated": gettext_lazy("Stores no longer listed"),
        # The import job of the stores table (data.job_handlers): the store file's sync.
        "store_file": gettext_lazy("Store file"),
    }
)


def _result(run: Any, synced: Any) -> dict[str, Any]:
    from quanwang.channels.choices import StoreGrade

    return {
        "month": run.month,
        "stores_graded": run.stores,
        "key_stores": run.by_grade.get(str(StoreGrade.KEY), 0),
        "anchor_stores": run.by_grade.get(str(StoreGrade.ANCHOR), 0),
        "small_stores": run.by_grade.get(str(StoreGrade.SMALL), 0),
        "rule_set_version": run.rule_set.version,
        "stores_listed": synced.listed,
        "stores_deactivated": synced.deactivated,
        "seconds": run.seconds,
    }


@register(JobKind.REGRADE_STORES)
def regrade_stores(ctx: JobContext, *, month: str) -> dict[str, Any]:
    """Bring the store file in step with the warehouse, then grade every store for `month`."""
    ctx.progress(stage=_("Syncing the store file"))
    synced = sync_stores()

    def say(stage: str) -> None:
        ctx.progress(stage=stage)

    run = regrade(month=month, actor=ctx.job.created_by, progress=say)
    return _result(run, synced)


@nightly.after_snapshot("stores", gettext_lazy("Store file and grades"))
def nightly_stores(snapshot: Any) -> dict[str, Any] | None:
    """After the customer snapshot: sync the store file, and grade the newest month of store
    sales that is not after the snapshot's month."""
    synced = sync_stores()
    newest = newest_sales_month()
    month = getattr(snapshot, "month", None)
    if newest is None:
        return {"stores_listed": synced.listed}
    chosen = min(newest, str(month)) if month else newest
    try:
        run = regrade(month=chosen)
    except ServiceError:
        # A month without sales (the snapshot's is older than any): grade the newest instead.
        logger.info("no store sales for %s; grading %s", chosen, newest)
        run = regrade(month=newest)
    return _result(run, synced)
