"""Grid scorecards (网格长's own numbers) and the grid P&L: the figures of every grid per month,
kept per data version (`kept`), read by the pages, the map (`map_values`) and the CLI."""

from __future__ import annotations

from typing import cast

from quanwang.channels.scorecards.services.kpis import Kpi

#: The KPIs the map page (channels.geo) can colour grids by: (key, translatable label). The
#: labels are lazy: str() them in the language of the request.
MAP_KPIS: list[tuple[str, str]] = [(kpi.value, cast(str, kpi.label)) for kpi in Kpi]


def map_values(*, month: str, kpi: str) -> dict[str, float]:
    """grid_id → the value of `kpi` (a key of MAP_KPIS) for `month` (YYYY-MM), from the kept
    scorecards; grids with no value that month (a ratio over nothing) are left out, as is
    everything when no scorecards are kept for the month or the KPI is unknown."""
    from quanwang.channels.scorecards.services.reading import grid_values

    return grid_values(month=month, kpi=kpi)


def newest_month() -> str | None:
    """The newest month the kept scorecards hold (the map opens on it), None before any."""
    from quanwang.channels.scorecards.services.kept import newest_kept

    kept = newest_kept()
    return kept.months[-1] if kept is not None and kept.months else None
