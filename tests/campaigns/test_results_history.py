"""An evaluated campaign's results carry what the next snapshot's campaign history needs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import ibis

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import record_outcome
from quanwang.core.choices import Role
from quanwang.insight.history import HistoryColumn, campaign_history, results_input
from quanwang.insight.months import Month
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TEN_AM,
    TODAY,
    approved,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)


def _history(results: Path, month: Month, target: Path) -> dict[str, dict[str, Any]]:
    table = ibis.duckdb.connect().read_parquet(str(results_input(paths=[results], target=target)))
    rows = campaign_history(table, month).to_pyarrow().to_pylist()
    return {row.pop("subscriber_id"): row for row in rows}


def test_an_evaluated_campaign_writes_its_window_and_refusals_for_the_next_snapshot(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a campaign (window 1 July - 31 August) whose tasks went out, where a grid manager
    # recorded one customer's refusal and another's acceptance
    load_city_warehouse(tree, tmp_path)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    dispatch_tasks(designer, campaign)
    treated = [
        sid
        for (sid,) in duckdb.execute(
            f"SELECT subscriber_id FROM read_parquet('{campaign.audience_path}') "
            "WHERE grid_id = ? AND NOT in_control ORDER BY 1",
            [tree.grid_a.code],
        ).fetchall()
    ]
    refuser, taker = treated[:2]
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    at = TEN_AM + dt.timedelta(hours=1)
    for sid, outcome in ((refuser, ContactOutcome.REFUSED), (taker, ContactOutcome.ACCEPTED)):
        record_outcome(actor=manager, campaign=campaign, subscriber_id=sid, outcome=outcome, at=at)

    # When it runs, closes and is evaluated
    for move in ("start", "close", "evaluate"):
        campaign = transition(actor=designer, campaign=campaign, move=move)

    # Then its results name the window and the refusal, and the history of August (the month
    # its window ends) counts them, while July's knows nothing of it yet
    results = Path(campaign.audience_path).parent / "results.parquet"
    [(start, end, refused)] = duckdb.execute(
        f"SELECT DISTINCT window_start, window_end, list(subscriber_id) FILTER (WHERE refused) "
        f"FROM read_parquet('{results}') GROUP BY ALL"
    ).fetchall()
    assert (start, end, refused) == (dt.date(2024, 7, 1), dt.date(2024, 8, 31), [refuser])
    august = _history(results, Month(2024, 8), tmp_path / "august.parquet")
    assert august[refuser][HistoryColumn.REFUSED] == 1
    assert august[refuser][HistoryColumn.CONTACTED] == 1
    assert august[taker][HistoryColumn.ACCEPTED] == 1
    assert august[taker][HistoryColumn.MONTHS_SINCE_CONTACT] == 0
    assert _history(results, Month(2024, 7), tmp_path / "july.parquet") == {}
