"""Job handlers and nightly steps of performance.targets (registered on import)."""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core.nightly import after_snapshot


@after_snapshot("performance_target_warnings", _("Targets behind pace: early warnings"))
def target_warnings_step(snapshot: Any) -> dict[str, Any]:
    """After the actuals (registered after them: the app imports the actuals part first)."""
    from quanwang.performance.targets.warnings import raise_target_warnings

    started = time.perf_counter()
    raised = raise_target_warnings()
    return {
        "target_warnings": sum(1 for r in raised if r.created),
        "seconds": round(time.perf_counter() - started, 2),
    }
