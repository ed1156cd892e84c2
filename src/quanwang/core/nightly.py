"""Steps the nightly pipeline runs once the customer snapshot is complete.

The insight app builds the snapshot (the wide table, scores, the console's figures); the apps
that read it register what they compute from it, e.g. the channels app's grid scorecards and
store funnels, in their `AppConfig.ready`. The pipeline job then runs them in registration
order. core owns the list so that insight never imports the apps downstream of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AfterSnapshotStep:
    name: str
    label: str | Promise
    # Called with the complete snapshot (insight.snapshots.Snapshot); returns figures for the
    # job's result (counts, seconds), or None.
    run: Callable[[Any], dict[str, Any] | None]


_STEPS: dict[str, AfterSnapshotStep] = {}


def after_snapshot(name: str, label: str | Promise) -> Callable[[Callable[..., Any]], Any]:
    """Register `run(snapshot)` as a step of the nightly pipeline, once per name."""

    def register(run: Callable[[Any], dict[str, Any] | None]) -> Callable[[Any], Any]:
        _STEPS[name] = AfterSnapshotStep(name=name, label=label, run=run)
        return run

    return register


def steps() -> list[AfterSnapshotStep]:
    return list(_STEPS.values())


def run_after_snapshot(
    snapshot: Any, *, progress: Callable[[AfterSnapshotStep], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Run every registered step on `snapshot`. A step that fails is logged and reported in
    the result; the snapshot stays complete and the steps after it still run, since each
    reads the snapshot and the warehouse, not the step before."""
    report: dict[str, dict[str, Any]] = {}
    for step in steps():
        if progress is not None:
            progress(step)
        began = time.monotonic()
        try:
            figures = step.run(snapshot) or {}
        except Exception as exc:
            logger.exception("nightly step %s on snapshot %s failed", step.name, snapshot)
            figures = {"failed": type(exc).__name__}
        report[step.name] = figures | {"seconds": round(time.monotonic() - began, 3)}
    return report
