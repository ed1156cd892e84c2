"""Steps the nightly pipeline runs before the customer snapshot and once it is complete.

The insight app builds the snapshot (the wide table, scores, the console's figures); the apps
that read it register what they compute from it, e.g. the channels app's grid scorecards and
store funnels, in their `AppConfig.ready`. The pipeline job then runs them in registration
order. core owns the list so that insight never imports the apps downstream of it.

A step registered with `before_snapshot` prepares what the snapshot reads, e.g. the channels
app's grid assignment, which gives the warehouse's customers the grids their coordinates lie
in before the wide table is built.
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


@dataclass(frozen=True)
class BeforeSnapshotStep:
    name: str
    label: str | Promise
    # Called with the engine the snapshot will be built on (insight.choices.Engine's value);
    # returns figures for the job's result, or None.
    run: Callable[[str], dict[str, Any] | None]


_BEFORE: dict[str, BeforeSnapshotStep] = {}


def before_snapshot(name: str, label: str | Promise) -> Callable[[Callable[..., Any]], Any]:
    """Register `run(engine)` to run before each nightly snapshot, once per name."""

    def register(run: Callable[[str], dict[str, Any] | None]) -> Callable[[str], Any]:
        _BEFORE[name] = BeforeSnapshotStep(name=name, label=label, run=run)
        return run

    return register


def steps_before() -> list[BeforeSnapshotStep]:
    return list(_BEFORE.values())


def run_before_snapshot(
    *, engine: str, progress: Callable[[BeforeSnapshotStep], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Run every step registered to come before the snapshot. A step that fails is logged
    and reported; the snapshot is still built, from what the warehouse holds."""
    report: dict[str, dict[str, Any]] = {}
    for step in steps_before():
        if progress is not None:
            progress(step)
        began = time.monotonic()
        try:
            figures = step.run(engine) or {}
        except Exception as exc:
            logger.exception("nightly step %s before the snapshot failed", step.name)
            figures = {"failed": type(exc).__name__}
        report[step.name] = figures | {"seconds": round(time.monotonic() - began, 3)}
    return report


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
