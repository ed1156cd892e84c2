"""Immutable snapshots of the customer wide table, one folder per pipeline run.

`<root>/<month>/<run_id>/wide/*.parquet` is written first and `manifest.json` last, inside a
hidden folder renamed into place: a snapshot without a manifest does not exist, so the console
never reads a half-written one. The newest complete snapshot is the one of the latest month,
and of that month the latest run.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from django.conf import settings

from quanwang.data.warehouse import sql_literal
from quanwang.insight.duck import cursor

MANIFEST = "manifest.json"


class SnapshotNotFound(LookupError):
    pass


@dataclass
class Snapshot:
    month: str
    run_id: str
    engine: str
    created: str
    rows: int
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # table → warehouse file read
    models: dict[str, Any] = field(default_factory=dict)  # e.g. the churn model that scored it
    summary: dict[str, Any] = field(default_factory=dict)  # the console's figures (summary.py)
    path: Path = Path()

    @property
    def relation(self) -> str:
        """DuckDB SQL reading the wide table of this snapshot."""
        return f"read_parquet({sql_literal(str(self.path / 'wide' / '*.parquet'))})"

    @cached_property
    def columns(self) -> dict[str, str]:
        """The wide table's columns and their DuckDB types, read once per snapshot object."""
        described = cursor().execute(f"DESCRIBE SELECT * FROM {self.relation}")
        return {str(name): str(kind) for name, kind, *_rest in described.fetchall()}

    @property
    def offnet_pool(self) -> str:
        """DuckDB SQL reading this snapshot's off-net win-over pool."""
        return f"read_parquet({sql_literal(str(self.path / 'offnet_pool' / '*.parquet'))})"

    @property
    def label(self) -> str:
        return f"{self.month} · {self.run_id}"


class SnapshotStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or Path(settings.VAR_DIR) / "insight")

    def begin(self, month: str) -> tuple[str, Path]:
        """A new run's id and the hidden folder it writes into."""
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        staging = self.root / month / f".{run_id}.tmp"
        staging.mkdir(parents=True)
        return run_id, staging

    def complete(self, staging: Path, snapshot: Snapshot) -> Snapshot:
        """Write the manifest and rename the run into place."""
        manifest = {k: v for k, v in asdict(snapshot).items() if k != "path"}
        target = staging.parent / snapshot.run_id
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(staging, target)
        snapshot.path = target
        return snapshot

    @staticmethod
    def abandon(staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def list(self) -> list[Snapshot]:
        """Every complete snapshot, newest first.

        Kept per process while no run folder comes, goes or has its manifest rewritten (one
        `stat` per run). The console lists snapshots on every page view; globbing and parsing
        every manifest each time, and reading each wide table's schema again
        (`Snapshot.columns`), cost more than the page's own figures."""
        signature = self._signature()
        with _listing_lock:
            kept = _listings.get(str(self.root))
        if kept is not None and kept[0] == signature:
            return list(kept[1])
        found = []
        for manifest in self.root.glob(f"*/*/{MANIFEST}"):
            data = json.loads(manifest.read_text())
            found.append(Snapshot(**data, path=manifest.parent))
        listing = sorted(found, key=lambda s: (s.month, s.created), reverse=True)
        with _listing_lock:
            _listings.pop(str(self.root), None)
            while len(_listings) >= _ROOTS_KEPT:
                del _listings[next(iter(_listings))]
            _listings[str(self.root)] = (signature, listing)
        return list(listing)

    def _signature(self) -> tuple[tuple[str, str, int], ...]:
        """Every run folder and its manifest's modification time (nanoseconds; -1: none)."""
        entries = []
        try:
            months = [e for e in os.scandir(self.root) if e.is_dir()]
        except FileNotFoundError:
            return ()
        for month in months:
            try:
                runs = list(os.scandir(month.path))
            except FileNotFoundError:  # removed since the root was read
                continue
            for run in runs:
                if run.name.startswith(".") or not run.is_dir():
                    continue
                try:
                    stamp = os.stat(os.path.join(run.path, MANIFEST)).st_mtime_ns
                except OSError:
                    stamp = -1
                entries.append((month.name, run.name, stamp))
        return tuple(sorted(entries))

    def latest(self) -> Snapshot | None:
        snapshots = self.list()
        return snapshots[0] if snapshots else None

    def get(self, month: str, run_id: str) -> Snapshot:
        manifest = self.root / month / run_id / MANIFEST
        if "/" in month + run_id or ".." in month + run_id or not manifest.is_file():
            raise SnapshotNotFound(f"{month}/{run_id}")
        for listed in self.list():
            if listed.path == manifest.parent:
                return listed
        return Snapshot(**json.loads(manifest.read_text()), path=manifest.parent)


# Listings by store root: (the root's signature, the snapshots), see SnapshotStore.list.
_listings: dict[str, tuple[tuple[tuple[str, str, int], ...], list[Snapshot]]] = {}
_listing_lock = threading.Lock()
_ROOTS_KEPT = 8
