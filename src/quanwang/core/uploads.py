"""Where uploaded files wait for the job that reads them, and how long they stay there.

Uploads hold subscribers' numbers: each is created mode 0600 in a 0700 folder. The job that
reads one releases it when it ends (succeeded, failed or cancelled), which deletes it unless
QUANWANG_UPLOAD_RETENTION_DAYS keeps uploads for a while (default 0: deleted at once). A sweep,
run before each new upload and after each import, deletes what no queued or running job reads
any more once past the retention: uploads of jobs cancelled before they ran, interrupted or
released by another kind of job, and files whose job was never created.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

UPLOADS_DIR = "uploads"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# An upload no job names is kept at least this long: the request that stored it may not have
# created its job yet.
ORPHAN_GRACE_SECONDS = 3600


def uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / UPLOADS_DIR


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner may enter (made, or narrowed if it was wider)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def store_upload(upload: UploadedFile) -> Path:
    """Copy an upload, in chunks, to var/uploads/ under a random name keeping its suffix."""
    sweep_uploads()
    suffix = Path(upload.name or "").suffix.lower()
    target = private_dir(uploads_dir()) / f"{uuid.uuid4().hex}{suffix}"
    # Created 0600 from the start (O_EXCL: never someone else's file of that name).
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return target


def is_upload(path: Path) -> bool:
    """Whether `path` is a file of the uploads folder (a CLI import reads the user's own file,
    which is never ours to delete)."""
    try:
        return path.resolve().parent == uploads_dir().resolve()
    except OSError:
        return False


def retention_seconds() -> float:
    return max(0.0, float(settings.QUANWANG_UPLOAD_RETENTION_DAYS)) * 86400


def release_upload(path: Path) -> None:
    """The job reading `path` has ended: delete it, unless a retention keeps it (for the sweep
    to delete later)."""
    if is_upload(path) and retention_seconds() == 0:
        path.unlink(missing_ok=True)


def sweep_uploads(*, now: float | None = None) -> list[Path]:
    """Delete the uploads no queued or running job reads that are older than the retention
    (files no job names at all: than the grace too). Returns what was deleted."""
    from quanwang.core.choices import JobStatus
    from quanwang.core.models import Job

    folder = uploads_dir()
    if not folder.is_dir():
        return []
    files = {str(path): path for path in folder.iterdir() if path.is_file()}
    if not files:
        return []
    named = Job.objects.filter(params__path__in=list(files)).values_list("params", "status")
    live = {
        str(params.get("path"))
        for params, status in named
        if status in (JobStatus.QUEUED, JobStatus.RUNNING)
    }
    ended = {str(params.get("path")) for params, _status in named} - live
    clock = time.time() if now is None else now
    keep = retention_seconds()
    removed = []
    for name, path in files.items():
        if name in live:
            continue
        try:
            age = clock - path.stat().st_mtime
        except FileNotFoundError:
            continue  # removed meanwhile
        if age >= (keep if name in ended else max(keep, ORPHAN_GRACE_SECONDS)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
