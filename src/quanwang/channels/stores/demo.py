"""The demo operator's stores (built by `quanwang demo`, after the campaigns): the store file
synced from the warehouse, the coverage targets, and every store graded for the newest month
of store sales (and the month before, so that the history shows a change), with reasons.
Running it twice changes nothing: the sync and the grading are idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quanwang.channels.stores.regrading import newest_sales_month, regrade
from quanwang.channels.stores.rules import coverage_targets, current_rule_set
from quanwang.channels.stores.sync import sync_stores
from quanwang.core.errors import ServiceError
from quanwang.insight.months import Month


def build_demo(*, say: Callable[[str], Any]) -> None:
    synced = sync_stores()
    say(f"store file: {synced.listed:,} stores ({synced.created:,} new)")
    current_rule_set()
    coverage_targets()
    newest = newest_sales_month()
    if newest is None:
        say("no store sales in the warehouse: stores not graded")
        return
    before = str(Month.parse(newest).shift(-1))
    for month in (before, newest):
        try:
            run = regrade(month=month)
        except ServiceError as exc:  # a demo without the month before: grade what there is
            say(f"stores of {month} not graded: {exc}")
            continue
        counts = ", ".join(f"{grade} {n:,}" for grade, n in run.by_grade.items())
        say(f"store grades {run.month}: {counts}")
