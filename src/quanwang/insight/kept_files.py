"""Figures kept beside a snapshot as JSON, parsed once per process and file version.

The console reads them on every page view; the file's modification time tells a rewritten one
(a snapshot built again) from the one already parsed.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class KeptJson(Generic[T]):
    """A small per-process cache of parsed JSON files, newest `size` files kept."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._parsed: dict[tuple[str, int], T] = {}
        self._lock = threading.Lock()

    def load(
        self, path: Path, *, accept: Callable[[dict[str, Any]], bool], parse: Callable[[Any], T]
    ) -> T | None:
        """`parse` of the file's JSON; None when it is missing or unreadable, or `accept` refuses
        it (another format, or the figures of other runs)."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return None
        key = (str(path), stamp)
        with self._lock:
            kept = self._parsed.get(key)
        if kept is not None:
            return kept
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not accept(data):
            return None
        parsed = parse(data)
        with self._lock:
            for stale in [k for k in self._parsed if k[0] == key[0]]:
                del self._parsed[stale]
            while len(self._parsed) >= self.size:
                del self._parsed[next(iter(self._parsed))]
            self._parsed[key] = parsed
        return parsed


def build_once(
    *, lock: Path, existing: Callable[[], T | None], build: Callable[[], T | None]
) -> T | None:
    """What `existing` finds; else `build`'s, built by one process under `lock`. None while
    another process builds it, or where the folder may not be written: the caller then
    computes from the snapshot itself, as before anything was kept."""
    found = existing()
    if found is not None:
        return found
    try:
        with lock.open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # being built by another request
            found = existing()
            return found if found is not None else build()
    except OSError:
        return None


def write_kept(directory: Path, version: str, data: dict[str, Any]) -> Path:
    """`data` as `directory/<version>.json` in one step (a temporary file renamed): a reader
    sees all of it or none."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{version}.json"
    temporary = directory / f".{version}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    os.replace(temporary, target)
    return target


def prune_kept(directory: Path, *, keep: int) -> None:
    """Remove all but the `keep` newest kept files of `directory`."""
    kept = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in kept[keep:]:
        old.unlink(missing_ok=True)
