"""Where uploaded files wait for the job that reads them."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile


def store_upload(upload: UploadedFile) -> Path:
    """Copy an upload, in chunks, to var/uploads/ under a random name keeping its suffix."""
    suffix = Path(upload.name or "").suffix.lower()
    target = Path(settings.VAR_DIR) / "uploads" / f"{uuid.uuid4().hex}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return target
