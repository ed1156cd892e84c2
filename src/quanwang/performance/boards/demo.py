"""The demo's boards: a composite score over the catalogue's first KPIs at grid level, and the
business day's boards kept (idempotent: a kept day is left as it is). Called by the lead's
performance demo after the actuals and the targets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from quanwang.performance.actuals.store import current
from quanwang.performance.boards.build import build_day
from quanwang.performance.boards.composites import save_composite
from quanwang.performance.boards.reading import kept_days, load
from quanwang.performance.choices import Grain

#: The demo's composite score.
COMPOSITE = "overall"
#: KPIs the demo composite prefers, by weight, when the catalogue has them.
PREFERRED = {"revenue": 40, "net_adds": 30, "penetration_5g": 30}


def _weights() -> dict[str, int]:
    from quanwang.performance.kpis.catalogue import catalogue

    known = {code: d for code, d in catalogue().items() if Grain.ORG_UNIT in d.grains}
    chosen = {code: w for code, w in PREFERRED.items() if code in known}
    if not chosen:
        chosen = dict.fromkeys(sorted(known)[:3], 1)
    return chosen


def build_boards_demo(*, say: Callable[[str], None]) -> None:
    weights = _weights()
    if weights:
        save_composite(user=None, code=COMPOSITE, name="综合得分", weights=weights)
    if current() is None:
        say("boards: no actuals yet, nothing kept")
        return
    _keep_last_week(say=say)
    result = build_day()
    kept = load(result.day)
    if weights and (kept is None or COMPOSITE not in kept.info):
        # The night before the demo's performance part kept the business day without the
        # composite (saved just now): keep it again, so the demo's board opens on it.
        result = build_day(force=True)
    say(f"boards: {result.day.isoformat()} ({result.rows} rows, built={result.built})")


#: Days before the business day whose boards the demo keeps, so that the board shows its
#: movement since yesterday and since last week as it would after a week of nightly runs.
HISTORY_DAYS = 7


def _keep_last_week(*, say: Callable[[str], None]) -> None:
    """Keep the boards of the week before the business day: the actuals as of each day (the
    dated facts up to it), then that day's boards; then the actuals of the business day
    again. Days already kept are left alone (a second demo run computes nothing)."""
    from quanwang.insight.choices import Engine
    from quanwang.performance.actuals.services import run_actuals

    latest = current()
    if latest is None:
        return
    kept = set(kept_days())
    missing = [
        latest.as_of - dt.timedelta(days=back)
        for back in range(HISTORY_DAYS, 0, -1)
        if latest.as_of - dt.timedelta(days=back) not in kept
    ]
    for day in missing:
        run_actuals(as_of=day, full=False, engine=Engine.DUCKDB)
        build_day(day=day)
    if missing:
        run_actuals(as_of=latest.as_of, full=False, engine=Engine.DUCKDB)
        say(f"boards: {len(missing)} earlier days kept ({missing[0]} to {missing[-1]})")
