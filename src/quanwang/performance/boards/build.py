"""Building a day's boards: every KPI and composite score at every level, for the month and
the quarter holding the day, kept in one immutable Parquet file per business day under
<VAR_DIR>/performance/boards/<YYYY-MM-DD>.parquet.

A day's file holds the scores, not the ranks: a board is ranked when it is read, within the
unit it is looked at in (a county's grids, a city's), so the same file serves every scope and
the movement since yesterday and last week compares like with like (reading.py).

Scores: a KPI board ranks the KPI's value (its direction decides which end is best). A
composite board ranks 100 × the weighted mean of its KPIs' scores, each the attainment of the
entry's target (capped at the appraisal cap, 150 %) or, where the entry has no target, its
value relative to the best value on the level (best ÷ value for a lower-is-better KPI); a KPI
an entry has no figure for counts 0; an entry with none of them is unranked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.boards.choices import LEVEL_GRAIN, BoardKind, BoardLevel
from quanwang.performance.boards.members import Member, members
from quanwang.performance.choices import Direction, PeriodKind
from quanwang.performance.models.boards import CompositeScore
from quanwang.performance.periods import period_of

FOLDER = ("performance", "boards")
#: The periods a day's boards rank: the month and the quarter holding the day.
PERIOD_KINDS = (PeriodKind.MONTH, PeriodKind.QUARTER)
#: A composite's attainment component is capped like the appraisal result (targets.progress).
ATTAINMENT_CAP = 1.5
META_KEY = b"quanwang.boards"

BOARD_SCHEMA = pa.schema(
    [
        ("board", pa.string()),  # the KPI's code, or the composite's code
        ("kind", pa.string()),  # BoardKind
        ("title", pa.string()),  # the composite's name ("" for a KPI: named when read)
        ("level", pa.string()),  # BoardLevel
        ("period", pa.string()),
        ("direction", pa.string()),  # Direction of the score
        ("key", pa.string()),
        ("name", pa.string()),
        ("org_unit", pa.string()),
        ("path", pa.string()),
        ("value", pa.float64()),
        ("target", pa.float64()),
        ("attainment", pa.float64()),
        ("score", pa.float64()),
    ]
)


@dataclass(frozen=True)
class BuildResult:
    day: dt.date
    path: Path
    rows: int
    #: False: the day's file was kept already and left as it was.
    built: bool
    seconds: float


def root() -> Path:
    return Path(settings.VAR_DIR).joinpath(*FOLDER)


def day_path(day: dt.date) -> Path:
    return root() / f"{day.isoformat()}.parquet"


def _direction(kpi: str) -> Direction:
    from quanwang.performance.targets.kpis import find

    definition = find(kpi)
    return Direction(definition.direction) if definition is not None else Direction.HIGHER


def _values(
    version: ActualsVersion, *, periods: list[str], grains: Iterable[str]
) -> dict[tuple[str, str, str], dict[str, float | None]]:
    """(grain, kpi, period) → key → value, read in one query."""
    connection = duckdb.connect()
    try:
        rows = connection.execute(
            "select grain, kpi, period, key, value from read_parquet(?) "
            "where period in (select unnest(?)) and grain in (select unnest(?))",
            [str(version.values_path), periods, sorted(set(grains))],
        ).fetchall()
    finally:
        connection.close()
    found: dict[tuple[str, str, str], dict[str, float | None]] = defaultdict(dict)
    for grain, kpi, period, key, value in rows:
        found[(grain, kpi, period)][key] = value
    return found


def _targets(
    version: ActualsVersion, *, periods: list[str], day: dt.date
) -> dict[tuple[str, str, str, str], tuple[float, float | None]]:
    """(kpi, grain, key, period) → (target, attainment) of every target of the periods."""
    from quanwang.performance.targets.progress import attainment_table

    found: dict[tuple[str, str, str, str], tuple[float, float | None]] = {}
    for period in periods:
        table = attainment_table(period=period, on=day, version=version)
        for row in table.select(["kpi", "grain", "key", "target", "attainment"]).to_pylist():
            found[(row["kpi"], row["grain"], row["key"], period)] = (
                row["target"],
                row["attainment"],
            )
    return found


def _relative(value: float | None, best: float | None, *, lower: bool) -> float | None:
    if value is None or best is None or best <= 0:
        return None
    if lower:
        return best / value if value > 0 else None
    return value / best


def _composite_rows(
    composite: CompositeScore,
    *,
    level: BoardLevel,
    period: str,
    entries: dict[str, Member],
    values: dict[tuple[str, str, str], dict[str, float | None]],
    targets: dict[tuple[str, str, str, str], tuple[float, float | None]],
) -> list[dict[str, Any]]:
    grain = LEVEL_GRAIN[level].value
    weights = {k: float(w) for k, w in (composite.weights or {}).items() if float(w) > 0}
    total = sum(weights.values())
    if not total:
        return []
    parts: dict[str, dict[str, float | None]] = {}
    for kpi in weights:
        lower = _direction(kpi) is Direction.LOWER
        level_values = {
            k: v for k, v in values.get((grain, kpi, period), {}).items() if k in entries
        }
        known = [v for v in level_values.values() if v is not None and v > 0]
        best = (min(known) if lower else max(known)) if known else None
        scored: dict[str, float | None] = {}
        for key in entries:
            target = targets.get((kpi, grain, key, period))
            if target is not None and target[1] is not None:
                scored[key] = min(target[1], ATTAINMENT_CAP)
            else:
                scored[key] = _relative(level_values.get(key), best, lower=lower)
        parts[kpi] = scored
    rows = []
    for key, member in entries.items():
        components = [(weights[k], parts[k].get(key)) for k in weights]
        known_parts = [(w, s) for w, s in components if s is not None]
        score = 100.0 * sum(w * s for w, s in known_parts) / total if known_parts else None
        rows.append(
            _row(
                board=composite.code,
                kind=BoardKind.COMPOSITE,
                title=composite.name,
                level=level,
                period=period,
                direction=Direction.HIGHER,
                member=member,
                value=score,
                target=None,
                attainment=None,
                score=score,
            )
        )
    return rows


def _row(
    *,
    board: str,
    kind: BoardKind,
    title: str,
    level: BoardLevel,
    period: str,
    direction: Direction,
    member: Member,
    value: float | None,
    target: float | None,
    attainment: float | None,
    score: float | None,
) -> dict[str, Any]:
    return {
        "board": board,
        "kind": kind.value,
        "title": title,
        "level": level.value,
        "period": period,
        "direction": direction.value,
        "key": member.key,
        "name": member.name,
        "org_unit": member.org_unit,
        "path": member.path,
        "value": value,
        "target": target,
        "attainment": attainment,
        "score": score,
    }


def compute_rows(*, version: ActualsVersion, day: dt.date) -> list[dict[str, Any]]:
    """Every board row of `day` from the actuals `version` and the targets."""
    periods = [period_of(kind, day).code for kind in PERIOD_KINDS]
    values = _values(version, periods=periods, grains=(g.value for g in LEVEL_GRAIN.values()))
    targets = _targets(version, periods=periods, day=day)
    composites = list(CompositeScore.objects.filter(active=True))
    directions: dict[str, Direction] = {}
    rows: list[dict[str, Any]] = []
    for level in BoardLevel:
        entries = members(level, on=day)
        if not entries:
            continue
        grain = LEVEL_GRAIN[level].value
        for (value_grain, kpi, period), by_key in sorted(values.items()):
            if value_grain != grain or not any(k in entries for k in by_key):
                continue
            direction = directions.setdefault(kpi, _direction(kpi))
            for key, member in entries.items():
                value = by_key.get(key)
                target = targets.get((kpi, grain, key, period))
                rows.append(
                    _row(
                        board=kpi,
                        kind=BoardKind.KPI,
                        title="",
                        level=level,
                        period=period,
                        direction=direction,
                        member=member,
                        value=value,
                        target=target[0] if target else None,
                        attainment=target[1] if target else None,
                        score=value,
                    )
                )
        for composite in composites:
            for period in periods:
                rows.extend(
                    _composite_rows(
                        composite,
                        level=level,
                        period=period,
                        entries=entries,
                        values=values,
                        targets=targets,
                    )
                )
    return rows


def build_day(
    *, day: dt.date | None = None, force: bool = False, version: ActualsVersion | None = None
) -> BuildResult:
    """Keep the boards of `day` (default: the actuals' business day) from the current actuals.

    A day's file is immutable: once kept it is left as it is (built=False), so the nightly
    step and a re-run agree and yesterday's movement never shifts under a team. `force`
    replaces it (an operator rebuilding a day on purpose, e.g. after a late correction).
    """
    began = time.monotonic()
    version = version or current()
    if version is None:
        raise ServiceError(
            _("No actuals have been computed yet: the boards are built from them."),
            field="day",
        )
    day = day or version.as_of
    path = day_path(day)
    if path.exists() and not force:
        rows = pq.ParquetFile(path).metadata.num_rows
        return BuildResult(day, path, rows, False, time.monotonic() - began)
    rows = compute_rows(version=version, day=day)
    table = pa.Table.from_pylist(rows, schema=BOARD_SCHEMA)
    meta = {
        "day": day.isoformat(),
        "actuals_version": version.version,
        "as_of": version.as_of.isoformat(),
        "snapshot": version.snapshot,
        "computed_at": version.computed_at.isoformat(),
        "built_at": timezone.now().isoformat(),
    }
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        pq.write_table(table, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BuildResult(day, path, table.num_rows, True, time.monotonic() - began)
