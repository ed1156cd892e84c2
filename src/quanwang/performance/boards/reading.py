"""Reading the kept boards: a board ranked within a unit, with its movement since yesterday and
since last week, the boards a day holds, and one entry's position (the "my performance" page).

Movement compares the entry's rank on the same board, level, period and unit in the kept day
before (the newest kept day before this one: "yesterday") and in the newest kept day at least
seven days before ("last week"). An entry ranked now that was absent or unranked then is new.
A day's file is read once per process and indexed by board, level and period (cached).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.performance.boards import ranking
from quanwang.performance.boards.build import META_KEY, day_path, root
from quanwang.performance.boards.choices import BoardKind, BoardLevel, Movement
from quanwang.performance.choices import Direction

#: Kept days held in memory (a month of daily boards for movement and history).
_CACHE_SIZE = 40
_cache: OrderedDict[tuple[str, int], DayBoards] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    name: str
    org_unit: str
    path: str
    value: float | None
    target: float | None
    attainment: float | None
    score: float | None


@dataclass(frozen=True)
class BoardInfo:
    board: str
    kind: BoardKind
    title: str
    direction: Direction


@dataclass
class DayBoards:
    day: dt.date
    meta: dict[str, Any]
    #: (board, level, period) → rows
    index: dict[tuple[str, str, str], list[Row]] = field(default_factory=dict)
    info: dict[str, BoardInfo] = field(default_factory=dict)

    @property
    def snapshot(self) -> str | None:
        return self.meta.get("snapshot")

    @property
    def computed_at(self) -> dt.datetime | None:
        text = self.meta.get("computed_at")
        return dt.datetime.fromisoformat(text) if text else None


def kept_days() -> list[dt.date]:
    """The days whose boards are kept, oldest first."""
    try:
        names = [p.stem for p in root().glob("*.parquet")]
    except OSError:
        return []
    days = []
    for name in names:
        try:
            days.append(dt.date.fromisoformat(name))
        except ValueError:
            continue
    return sorted(days)


def load(day: dt.date) -> DayBoards | None:
    """The boards kept for `day`, or None."""
    path = day_path(day)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    cache_key = (str(path), stamp)
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            _cache.move_to_end(cache_key)
            return found
    found = _read(day, path)
    with _lock:
        _cache[cache_key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def _read(day: dt.date, path: Any) -> DayBoards:
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    kept = DayBoards(day=day, meta=meta)
    columns = table.to_pydict()
    for i in range(table.num_rows):
        board = columns["board"][i]
        index_key = (board, columns["level"][i], columns["period"][i])
        rows = kept.index.get(index_key)
        if rows is None:
            rows = kept.index[index_key] = []
            kept.info.setdefault(
                board,
                BoardInfo(
                    board=board,
                    kind=BoardKind(columns["kind"][i]),
                    title=columns["title"][i] or "",
                    direction=Direction(columns["direction"][i]),
                ),
            )
        rows.append(
            Row(
                key=columns["key"][i],
                name=columns["name"][i],
                org_unit=columns["org_unit"][i],
                path=columns["path"][i],
                value=columns["value"][i],
                target=columns["target"][i],
                attainment=columns["attainment"][i],
                score=columns["score"][i],
            )
        )
    return kept


def latest_day(*, on_or_before: dt.date | None = None) -> dt.date | None:
    days = [d for d in kept_days() if on_or_before is None or d <= on_or_before]
    return days[-1] if days else None


def _previous(day: dt.date, *, at_least: int) -> dt.date | None:
    return latest_day(on_or_before=day - dt.timedelta(days=at_least))


@dataclass(frozen=True, slots=True)
class Entry:
    row: Row
    rank: int | None
    #: Ranked entries on the board.
    of: int
    since_yesterday: Movement | None
    #: Places gained (positive) or lost since yesterday; None when not comparable.
    places_yesterday: int | None
    since_last_week: Movement | None
    places_last_week: int | None

    @property
    def key(self) -> str:
        return self.row.key


@dataclass(frozen=True)
class Board:
    day: dt.date
    info: BoardInfo
    level: BoardLevel
    period: str
    within_path: str
    entries: list[Entry]
    snapshot: str | None
    computed_at: dt.datetime | None
    compared_yesterday: dt.date | None
    compared_last_week: dt.date | None

    @property
    def ranked(self) -> int:
        return sum(1 for e in self.entries if e.rank is not None)

    def top(self, n: int) -> list[Entry]:
        """龙榜."""
        return [e for e in self.entries if e.rank is not None and e.rank <= n]

    def bottom(self, n: int) -> list[Entry]:
        """虎榜 (worst first)."""
        by_key = {e.key: e for e in self.entries}
        picked = ranking.bottom(
            [ranking.Ranked(e.key, e.row.score, e.rank) for e in self.entries], n
        )
        return [by_key[r.key] for r in picked]


def _ranks(rows: list[Row], *, direction: Direction) -> list[ranking.Ranked]:
    return ranking.rank([(r.key, r.score) for r in rows], direction=direction)


def _within(rows: list[Row], path: str) -> list[Row]:
    return [r for r in rows if r.path.startswith(path)]


def _movement(
    now: int | None, then: dict[str, int | None] | None, key: str
) -> tuple[Movement | None, int | None]:
    if now is None or then is None:
        return None, None
    before = then.get(key)
    if before is None:
        return Movement.NEW, None
    places = before - now
    if places > 0:
        return Movement.UP, places
    if places < 0:
        return Movement.DOWN, places
    return Movement.SAME, 0


def _ranks_on(
    day: dt.date | None, *, board: str, level: str, period: str, path: str
) -> dict[str, int | None] | None:
    if day is None:
        return None
    kept = load(day)
    if kept is None or board not in kept.info:
        return None
    rows = kept.index.get((board, level, period))
    if rows is None:
        return {}
    ranked = _ranks(_within(rows, path), direction=kept.info[board].direction)
    return {r.key: r.rank for r in ranked}


#: Ranked boards kept per process: ranking a city's 2,000 stores on three days (today,
#: yesterday, a week ago) on every request cost most of the page's time and its slow
#: outliers. Keyed by the kept files' modification times, so a rebuilt day is ranked again.
_ranked: OrderedDict[tuple[Any, ...], Board | None] = OrderedDict()
_RANKED_SIZE = 64


def _stamp(day: dt.date | None) -> int | None:
    if day is None:
        return None
    try:
        return day_path(day).stat().st_mtime_ns
    except OSError:
        return None


def board(
    *,
    board: str,
    level: BoardLevel | str,
    period: str,
    within_path: str,
    day: dt.date | None = None,
) -> Board | None:
    """The board `board` of `level` over `period`, ranked among the entries under
    `within_path` (a unit's path), as kept on `day` (default: the newest kept day); None when
    the day holds no such board. The Board returned is shared: callers read it only."""
    level = BoardLevel(level)
    day = day or latest_day()
    if day is None:
        return None
    yesterday, last_week = _previous(day, at_least=1), _previous(day, at_least=7)
    key = (
        board, level.value, period, within_path, day, _stamp(day),
        yesterday, _stamp(yesterday), last_week, _stamp(last_week),
    )  # fmt: skip
    with _lock:
        if key in _ranked:
            _ranked.move_to_end(key)
            return _ranked[key]
    found = _board(board=board, level=level, period=period, within_path=within_path, day=day)
    with _lock:
        _ranked[key] = found
        while len(_ranked) > _RANKED_SIZE:
            _ranked.popitem(last=False)
    return found


def _board(
    *, board: str, level: BoardLevel, period: str, within_path: str, day: dt.date
) -> Board | None:
    kept = load(day) if day else None
    if kept is None or day is None or board not in kept.info:
        return None
    rows = kept.index.get((board, level.value, period))
    if rows is None:
        return None
    info = kept.info[board]
    scoped = {r.key: r for r in _within(rows, within_path)}
    ranked = _ranks(list(scoped.values()), direction=info.direction)
    count = ranking.ranked_count(ranked)
    yesterday = _previous(day, at_least=1)
    last_week = _previous(day, at_least=7)
    then_day = _ranks_on(yesterday, board=board, level=level.value, period=period, path=within_path)
    then_week = _ranks_on(
        last_week, board=board, level=level.value, period=period, path=within_path
    )
    entries = []
    for r in ranked:
        moved_day, places_day = _movement(r.rank, then_day, r.key)
        moved_week, places_week = _movement(r.rank, then_week, r.key)
        entries.append(
            Entry(
                row=scoped[r.key],
                rank=r.rank,
                of=count,
                since_yesterday=moved_day,
                places_yesterday=places_day,
                since_last_week=moved_week,
                places_last_week=places_week,
            )
        )
    return Board(
        day=day,
        info=info,
        level=level,
        period=period,
        within_path=within_path,
        entries=entries,
        snapshot=kept.snapshot,
        computed_at=kept.computed_at,
        compared_yesterday=yesterday if then_day is not None else None,
        compared_last_week=last_week if then_week is not None else None,
    )


#: `board` under a name a parameter called `board` does not hide.
ranked_board = board


def boards_of(
    *, level: BoardLevel | str, period: str | None = None, day: dt.date | None = None
) -> list[BoardInfo]:
    """The boards kept on `day` for `level` (and `period`), composites first."""
    day = day or latest_day()
    kept = load(day) if day else None
    if kept is None:
        return []
    codes = {b for b, lv, p in kept.index if lv == BoardLevel(level) and period in (None, p)}
    found = [kept.info[c] for c in codes]
    found.sort(key=lambda i: (i.kind != BoardKind.COMPOSITE, i.board))
    return found


def periods_of(*, day: dt.date | None = None) -> list[str]:
    day = day or latest_day()
    kept = load(day) if day else None
    return sorted({p for _b, _lv, p in kept.index}) if kept else []


@dataclass(frozen=True)
class Position:
    rank: int | None
    of: int
    since_yesterday: Movement | None
    places_yesterday: int | None
    since_last_week: Movement | None
    places_last_week: int | None
    #: The path of the unit the entry is ranked within (its peers).
    within_path: str
    day: dt.date


def peer_path(level: BoardLevel | str, path: str) -> str:
    """The unit an entry is ranked among its peers in: a county among the counties of its
    city; a grid, a person or a store among those of its county."""
    codes = [c for c in path.strip("/").split("/") if c]
    depth = 2 if BoardLevel(level) is BoardLevel.COUNTY else 3
    return "/" + "/".join(codes[:depth]) + "/"


def board_position(
    *,
    level: BoardLevel | str,
    key: str,
    board: str,
    period: str,
    day: dt.date | None = None,
) -> Position | None:
    """Where `key` stands on `board` of `level` over `period` among its peers (peer_path),
    with its movement; None when the board or the entry is not kept."""
    day = day or latest_day()
    kept = load(day) if day else None
    if kept is None or day is None:
        return None
    rows = kept.index.get((board, BoardLevel(level).value, period)) or []
    own = next((r for r in rows if r.key == key), None)
    if own is None:
        return None
    within = peer_path(level, own.path)
    found = ranked_board(board=board, level=level, period=period, within_path=within, day=day)
    entry = next((e for e in found.entries if e.key == key), None) if found else None
    if entry is None:
        return None
    return Position(
        rank=entry.rank,
        of=entry.of,
        since_yesterday=entry.since_yesterday,
        places_yesterday=entry.places_yesterday,
        since_last_week=entry.since_last_week,
        places_last_week=entry.places_last_week,
        within_path=within,
        day=day,
    )
