"""The off-net win-over page (异网策反目标池) of a user's scope, from a digest of the pool kept
with the snapshot instead of the whole pool.

`offnet_digest/` in the snapshot folder holds two small Parquet files, written once per
snapshot (by the pipeline's follow-up step, or on the first request for a snapshot made before
digests existed):

- `by_grid.parquet`: per referrer grid and operator, the numbers, ties and minutes (added up);
- `top.parquet`: the `POOL_PAGE` strongest targets of each referrer grid (by `pool_rank`).

A scope is a set of referrer grids, so its figures per operator are its grids' added up, and its
strongest targets are among its grids' strongest: the page's queries give the same rows on the
digest as on the pool (`services.offnet_report`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from quanwang.data.warehouse import sql_literal
from quanwang.insight import services
from quanwang.insight.duck import cursor
from quanwang.insight.kept_files import build_once
from quanwang.insight.snapshots import Snapshot

DIGEST = "offnet_digest"
LOCK = ".offnet_digest.lock"


def _relation(folder: Path, name: str) -> str:
    return f"read_parquet({sql_literal(str(folder / name))})"


def build(snapshot: Snapshot) -> Path:
    """Write the digest of the snapshot's pool into its folder in one step (a hidden folder
    renamed into place), and return it."""
    target = snapshot.path / DIGEST
    staging = snapshot.path / f".{DIGEST}.{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        con = cursor()
        pool = snapshot.offnet_pool
        con.execute(
            "COPY (SELECT referrer_grid_id, peer_operator, count(*) AS numbers, "
            "sum(our_ties) AS ties, sum(minutes) AS minutes "
            f"FROM {pool} GROUP BY ALL ORDER BY ALL) "
            f"TO {sql_literal(str(staging / 'by_grid.parquet'))} (FORMAT parquet)"
        )
        con.execute(
            f"COPY (SELECT * FROM {pool} QUALIFY row_number() OVER "
            f"(PARTITION BY referrer_grid_id ORDER BY pool_rank) <= {int(services.POOL_PAGE)} "
            f"ORDER BY pool_rank) TO {sql_literal(str(staging / 'top.parquet'))} (FORMAT parquet)"
        )
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process was first: theirs
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def digest_of(snapshot: Snapshot) -> Path | None:
    """The snapshot's digest folder; built now for a snapshot that has none, unless another
    process is building it or the folder may not be written (None: read the pool)."""
    found = snapshot.path / DIGEST
    return build_once(
        lock=snapshot.path / LOCK,
        existing=lambda: found if found.is_dir() else None,
        build=lambda: build(snapshot),
    )


def offnet_report(*, user: Any, snapshot: Snapshot) -> dict[str, Any]:
    """What `services.offnet_report` gives, from the digest where there is one."""
    digest = digest_of(snapshot)
    if digest is None:
        return services.offnet_report(user=user, snapshot=snapshot)
    condition, params = services.insight_scope(user).sql("referrer_grid_id")
    con = cursor()
    by_operator = con.execute(
        f"SELECT peer_operator, sum(numbers), sum(ties), round(sum(minutes), 0) "
        f"FROM {_relation(digest, 'by_grid.parquet')} WHERE {condition} "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    ).fetchall()
    relation = con.execute(
        f"SELECT left(peer_hash, 10) AS target, peer_operator, our_ties, calls, "
        f"round(minutes, 1) AS minutes, referrer_id, referrer_grid_id, round(tie_strength, 2) "
        f"AS tie_strength FROM {_relation(digest, 'top.parquet')} WHERE {condition} "
        f"ORDER BY pool_rank LIMIT {int(services.POOL_PAGE)}",
        params,
    )
    names = [d[0] for d in relation.description or []]
    return {
        "by_operator": [
            {"operator": op, "numbers": int(n), "ties": int(t), "minutes": float(m or 0)}
            for op, n, t, m in by_operator
        ],
        "targets": [dict(zip(names, row, strict=True)) for row in relation.fetchall()],
    }
