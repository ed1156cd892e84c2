"""Job handlers and nightly steps of performance.boards (registered on import).

The step runs after the actuals and the targets steps (performance.job_handlers imports the
parts in that order, and core.nightly runs steps in registration order)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core.nightly import after_snapshot
from quanwang.performance.actuals.store import current


@after_snapshot("performance_boards", _("Keep the day's leaderboards"))
def keep_boards(snapshot: Any) -> dict[str, Any]:
    """Keep the boards of the actuals' business day (once: a day's file is immutable)."""
    from quanwang.performance.boards.build import build_day

    if current() is None:
        return {"skipped": "no actuals"}
    result = build_day()
    return {"day": result.day.isoformat(), "rows": result.rows, "built": result.built}
