"""Where the actuals are kept: immutable versions under `<VAR_DIR>/performance/actuals/`, each a
folder holding `values.parquet` and `manifest.json` (written last), and a `CURRENT` pointer
replaced atomically once a version is complete. A running computation never half-updates what
the pages read; a version names the snapshot and the business day it was computed from, and
when.

The values file has one row per KPI, grain, key and period (VALUE_SCHEMA). `publish` is the one
way a version is written: the nightly step uses it, and so do tests that need given actuals.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import timezone

FOLDER = ("performance", "actuals")
VALUES = "values.parquet"
MANIFEST = "manifest.json"
POINTER = "CURRENT"
#: Versions kept besides the current one (a page that opened an older one keeps reading it).
KEEP_VERSIONS = 3

VALUE_SCHEMA = pa.schema(
    [
        ("kpi", pa.string()),
        ("grain", pa.string()),  # performance.choices.Grain
        ("key", pa.string()),  # unit code, employee number, store_id or enterprise_id
        ("org_unit", pa.string()),  # the unit the key belongs to (the key itself for units)
        ("period", pa.string()),  # "2024-12", "2024Q4", "2024"
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),  # null for a sum
        ("value", pa.float64()),  # numerator, or numerator / denominator (null when 0)
    ]
)


@dataclass(frozen=True)
class ActualsVersion:
    """One complete computation of the actuals."""

    version: str
    folder: Path
    #: The business day the facts run to (the figures are "as of" it).
    as_of: dt.date
    #: The insight snapshot the wide-table KPIs were read from (None: none was used).
    snapshot: str | None
    computed_at: dt.datetime
    #: Anything the computation wants to keep: input fingerprints, timings, what was redone.
    details: Mapping[str, Any]

    @property
    def values_path(self) -> Path:
        return self.folder / VALUES

    @property
    def computed_at_local(self) -> dt.datetime:
        return timezone.localtime(self.computed_at)


def root() -> Path:
    return Path(settings.VAR_DIR).joinpath(*FOLDER)


def value_of(numerator: float | None, denominator: float | None) -> float | None:
    """A KPI's value from its sums: the numerator for a sum (no denominator), else the ratio
    (None when the denominator is 0)."""
    if numerator is None:
        return None
    if denominator is None:
        return float(numerator)
    return float(numerator) / float(denominator) if denominator else None


def publish(
    rows: Iterable[Mapping[str, Any]] | pa.Table,
    *,
    as_of: dt.date,
    snapshot: str | None,
    computed_at: dt.datetime | None = None,
    details: Mapping[str, Any] | None = None,
    extra: Mapping[str, pa.Table] | None = None,
) -> ActualsVersion:
    """Write a complete version of the actuals and make it the current one.

    `rows` are mappings with VALUE_SCHEMA's keys (`value` is worked out when missing) or an
    Arrow table of that schema. `extra`: more Parquet files of the version (file name → table),
    e.g. the base values the next incremental run reuses; written before the manifest, so a
    version with a manifest has them all."""
    if isinstance(rows, pa.Table):
        table = rows.select(VALUE_SCHEMA.names).cast(VALUE_SCHEMA)
    else:
        records = []
        for row in rows:
            record = {name: row.get(name) for name in VALUE_SCHEMA.names}
            if "value" not in row:
                record["value"] = value_of(record["numerator"], record["denominator"])
            records.append(record)
        table = pa.Table.from_pylist(records, schema=VALUE_SCHEMA)
    computed_at = computed_at or timezone.now()
    version = f"{computed_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    folder = base / version
    folder.mkdir()
    pq.write_table(table, folder / VALUES)
    for name, content in (extra or {}).items():
        pq.write_table(content, folder / name)
    manifest = {
        "version": version,
        "as_of": as_of.isoformat(),
        "snapshot": snapshot,
        "computed_at": computed_at.isoformat(),
        "rows": table.num_rows,
        "details": dict(details or {}),
    }
    _write_atomically(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, default=str))
    _write_atomically(base / POINTER, version)
    _prune(base, keep=version)
    return _version_from(folder, manifest)


def current() -> ActualsVersion | None:
    """The current complete version, or None before the first computation."""
    base = root()
    try:
        name = (base / POINTER).read_text().strip()
    except OSError:
        return None
    return load(name)


def load(version: str) -> ActualsVersion | None:
    folder = root() / version
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return _version_from(folder, manifest)


def _version_from(folder: Path, manifest: Mapping[str, Any]) -> ActualsVersion:
    return ActualsVersion(
        version=str(manifest["version"]),
        folder=folder,
        as_of=dt.date.fromisoformat(manifest["as_of"]),
        snapshot=manifest.get("snapshot"),
        computed_at=dt.datetime.fromisoformat(manifest["computed_at"]),
        details=manifest.get("details") or {},
    )


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(text)
    os.replace(temporary, path)


def _prune(base: Path, *, keep: str) -> None:
    versions = sorted(
        (p for p in base.iterdir() if p.is_dir() and (p / MANIFEST).exists()),
        key=lambda p: p.name,
    )
    for old in versions[: -(KEEP_VERSIONS + 1)]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
