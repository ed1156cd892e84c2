"""Background work of the enterprise accounts part: the account file follows each import of
the warehouse's enterprises table, and the nightly pipeline syncs it before the parts that
read it (grading, work) run their steps."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.core import nightly
from quanwang.core.jobs import RESULT_LABELS
from quanwang.data.after_import import after_import
from quanwang.enterprise.accounts.services.sync import sync_accounts, sync_after_import

after_import("enterprises", "account_file")(sync_after_import)
# Members and products change the page's copies too.
after_import("enterprise_members", "account_file")(sync_after_import)
after_import("enterprise_products", "account_file")(sync_after_import)

RESULT_LABELS.update(
    {
        # The import job of the enterprises table (data.job_handlers): the account file's sync.
        "account_file": gettext_lazy("Account file"),
        "accounts_listed": gettext_lazy("Enterprises listed"),
        "accounts_created": gettext_lazy("New accounts"),
        "accounts_deactivated": gettext_lazy("Accounts no longer listed"),
    }
)


@nightly.after_snapshot("enterprise_accounts", gettext_lazy("Enterprise account file"))
def nightly_accounts(snapshot: Any) -> dict[str, Any] | None:
    """Sync the account file (the snapshot is not read: the warehouse is the source)."""
    report = sync_accounts()
    return {
        "accounts_listed": report.listed,
        "accounts_created": report.created,
        "accounts_deactivated": report.deactivated,
    }
