"""The compare page (营销分析 → 快照对比) of a user's scope: tier migration and feature drift
between two snapshots, worked out when the later snapshot is built.

The pipeline compares each new snapshot with the one listed just before it (the pair the page
opens with) and keeps `compare/<earlier run id>.json` in the new snapshot's folder:

- `transitions`: the customers counted by (in the earlier snapshot, grid, tier, in the later,
  grid, tier), from which the migration of any scope adds up exactly;
- `everyone` and `units`: the drift of the whole snapshot and of each org unit of the tree
  given to the build (drift is not a sum of its grids': a scope's bins are its own deciles).

A scope the file does not hold (a user with units in two places, another pair of snapshots, a
tree changed since) is worked out from the two wide tables on the request (`insight.drift`, as
`services.feature_drift`) and kept beside the file for the next request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quanwang.data.customers import Scope
from quanwang.insight import drift, services
from quanwang.insight.choices import ValueTier
from quanwang.insight.dashboard import covering_units
from quanwang.insight.duck import cursor
from quanwang.insight.kept_files import KeptJson
from quanwang.insight.services import Migration, TierMigration
from quanwang.insight.snapshots import Snapshot
from quanwang.insight.summary import UnitGrids

FOLDER = "compare"
# Raised when what the files hold changes; an older file is then ignored, never misread.
FORMAT = 1

Drift = list[tuple[str, float]]


def unit_grids(unit: UnitGrids) -> frozenset[str | None]:
    return frozenset(unit.grids) | ({None} if unit.gridless else frozenset())


# --- Building -------------------------------------------------------------------------------


def transitions(before: Snapshot, after: Snapshot) -> list[list[Any]]:
    """Customers counted by (in `before`, grid, tier, in `after`, grid, tier)."""
    rows = (
        cursor()
        .execute(
            f"WITH b AS (SELECT subscriber_id, grid_id, value_tier FROM {before.relation}), "
            f"a AS (SELECT subscriber_id, grid_id, value_tier FROM {after.relation}) "
            "SELECT b.subscriber_id IS NOT NULL, b.grid_id, b.value_tier, "
            "a.subscriber_id IS NOT NULL, a.grid_id, a.value_tier, count(*) "
            "FROM b FULL JOIN a USING (subscriber_id) GROUP BY ALL ORDER BY ALL"
        )
        .fetchall()
    )
    return [[*row[:6], int(row[6])] for row in rows]


def build(*, before: Snapshot, after: Snapshot, units: Mapping[str, UnitGrids]) -> dict[str, Any]:
    """The comparison of `before` with `after` for the whole snapshot and every unit of
    `units`, JSON-ready."""
    began = time.monotonic()
    codes = list(units)
    found = drift.between(before, after, [None, *[unit_grids(units[code]) for code in codes]])
    return {
        "format": FORMAT,
        "before": before.run_id,
        "after": after.run_id,
        "everyone": found[0],
        "units": {
            code: {
                "grids": sorted(set(units[code].grids)),
                "gridless": units[code].gridless,
                "drift": found[1 + i],
            }
            for i, code in enumerate(codes)
        },
        "transitions": transitions(before, after),
        "seconds": round(time.monotonic() - began, 3),
    }


def path_of(after: Snapshot, before_run: str) -> Path:
    return after.path / FOLDER / f"{before_run}.json"


def write(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a JSON file in one step (a temporary file renamed): a reader sees all or none."""
    path.parent.mkdir(exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    os.replace(temporary, path)
    return path


def previous(snapshots: Sequence[Snapshot], *, month: str, created: str) -> Snapshot | None:
    """The snapshot listed just after (older than) one of `month` made at `created`."""
    older = [s for s in snapshots if (s.month, s.created) < (month, created)]
    return max(older, key=lambda s: (s.month, s.created), default=None)


def pairs_to_keep(listed: Sequence[Snapshot], new: Snapshot) -> list[tuple[Snapshot, Snapshot]]:
    """(earlier, later) pairs to compare once `new` is complete: it with the snapshot listed
    just before it, and the two newest (what the compare page opens with) when that is not
    the same pair and has no kept comparison yet."""
    pairs = []
    earlier = previous(listed, month=new.month, created=new.created)
    if earlier is not None:
        pairs.append((earlier, new))
    newest = sorted(listed, key=lambda s: (s.month, s.created), reverse=True)[:2]
    if len(newest) == 2:
        later, first = newest
        kept = [(b.path, a.path) for b, a in pairs]
        if (first.path, later.path) not in kept and not path_of(later, first.run_id).is_file():
            pairs.append((first, later))
    return pairs


# --- Reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """A comparison worked out when the later snapshot was built."""

    everyone: Drift
    #: Org unit code → (its grids when built, whether it holds the rows with no grid, drift).
    units: dict[str, tuple[frozenset[str], bool, Drift]]
    transitions: list[list[Any]]

    def scope_drift(self, units: Sequence[str], scope: Scope) -> Drift | None:
        """The drift of a scope that is the whole snapshot, or one unit still holding the
        grids it held; else None."""
        if scope.grids is None:
            return self.everyone
        if len(units) != 1 or units[0] not in self.units:
            return None
        held, gridless, found = self.units[units[0]]
        if held != frozenset(scope.grids) or gridless != scope.gridless:
            return None
        return found


def _pairs(rows: Any) -> Drift:
    return [(str(name), float(value)) for name, value in rows]


def parse(data: Mapping[str, Any]) -> Kept:
    return Kept(
        everyone=_pairs(data["everyone"]),
        units={
            code: (frozenset(row["grids"]), bool(row["gridless"]), _pairs(row["drift"]))
            for code, row in data["units"].items()
        },
        transitions=[list(row) for row in data["transitions"]],
    )


_kept: KeptJson[Kept] = KeptJson(size=8)


def load(*, before: Snapshot, after: Snapshot) -> Kept | None:
    """The comparison kept with `after` against `before`; None when there is none, or it is
    of another format or of other runs. Parsed once per process and file."""
    return _kept.load(
        path_of(after, before.run_id),
        accept=lambda data: (
            (data.get("format"), data.get("before"), data.get("after"))
            == (FORMAT, before.run_id, after.run_id)
        ),
        parse=parse,
    )


def migration(rows: Sequence[Sequence[Any]], scope: Scope) -> TierMigration:
    """The tier migration of a scope from the transitions: what `services.tier_migration`
    gives from the wide tables."""
    cells: dict[tuple[str, str], int] = {}
    for was, old_grid, old_tier, is_, new_grid, new_tier, n in rows:
        mine_before = bool(was) and scope.holds(old_grid)
        mine_after = bool(is_) and scope.holds(new_grid)
        if not (mine_before or mine_after):
            continue
        source = old_tier if mine_before else Migration.MOVED_IN if was else Migration.NEW
        target = new_tier if mine_after else Migration.MOVED_OUT if is_ else Migration.LEFT
        key = (str(source), str(target))
        cells[key] = cells.get(key, 0) + int(n)
    moves = scope.grids is not None
    tiers = [str(t) for t in ValueTier]
    return TierMigration(
        sources=[*tiers, *([Migration.MOVED_IN] if moves else []), Migration.NEW],
        targets=[*tiers, *([Migration.MOVED_OUT] if moves else []), Migration.LEFT],
        cells=cells,
    )


def scope_key(scope: Scope) -> str:
    grids = None if scope.grids is None else sorted(set(scope.grids))
    text = json.dumps([grids, scope.gridless], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def worked_out(*, before: Snapshot, after: Snapshot, scope: Scope) -> Drift:
    """The drift of one scope from the two wide tables, kept beside `after` for the next
    request (where the console may write there)."""
    path = after.path / FOLDER / f"{before.run_id}.{scope_key(scope)}.json"
    try:
        data = json.loads(path.read_text())
        if data.get("format") == FORMAT:
            return _pairs(data["drift"])
    except (OSError, ValueError):
        pass
    [found] = drift.between(before, after, [drift.scope_grids(scope)])
    # A folder the console may not write to: worked out again next time.
    with contextlib.suppress(OSError):
        write(path, {"format": FORMAT, "drift": found})
    return found


@dataclass(frozen=True)
class Comparison:
    drift: Drift
    migration: TierMigration
    #: Both read from the kept comparison (False: worked out on the request).
    precomputed: bool


def comparison(*, user: Any, before: Snapshot, after: Snapshot) -> Comparison:
    """The drift and tier migration of the user's scope from `before` to `after`."""
    scope = services.insight_scope(user)
    kept = load(before=before, after=after)
    if kept is None:
        return Comparison(
            drift=worked_out(before=before, after=after, scope=scope),
            migration=services.tier_migration(user=user, before=before, after=after),
            precomputed=False,
        )
    found = kept.scope_drift([] if scope.grids is None else covering_units(user), scope)
    return Comparison(
        drift=found if found is not None else worked_out(before=before, after=after, scope=scope),
        migration=migration(kept.transitions, scope),
        precomputed=found is not None,
    )
