"""Background work of the enterprise pipeline part: the order copy follows each import of the
warehouse's `enterprise_orders` table and runs in the nightly pipeline; the merge rule and
re-pointing register with the accounts part; the account columns of the wide table
(pipeline.wide_columns) register with the insight pipeline through core.wide_columns."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.core import nightly
from quanwang.core.jobs import RESULT_LABELS
from quanwang.data.after_import import after_import
from quanwang.enterprise.accounts.merging import merge_check, on_merge
from quanwang.enterprise.pipeline import wide_columns  # noqa: F401 (registers its provider)
from quanwang.enterprise.pipeline.services.merging import refuse_merge, repoint
from quanwang.enterprise.pipeline.services.orders import (
    relink_orders,
    sync_after_import,
    sync_orders,
)

after_import("enterprise_orders", "enterprise_orders")(sync_after_import)
merge_check("pipeline")(refuse_merge)
on_merge("pipeline")(repoint)

RESULT_LABELS.update(
    {
        "enterprise_orders": gettext_lazy("Enterprise orders"),
        "orders_listed": gettext_lazy("Orders listed"),
        "orders_linked": gettext_lazy("Orders linked to new accounts"),
    }
)


@nightly.after_snapshot("enterprise_orders", gettext_lazy("Enterprise orders"))
def nightly_orders(snapshot: Any) -> dict[str, Any] | None:
    """Copy the orders again and link those whose account arrived since (the snapshot is not
    read: the warehouse is the source). Registered after the account file's step."""
    report = sync_orders()
    return {"orders_listed": report.listed, "orders_linked": relink_orders()}
