"""Reading operators' CSV exports: UTF-8 (with or without BOM) or GBK/GB18030."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

CANDIDATE_ENCODINGS = ("utf-8-sig", "gb18030")
SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class RowError:
    """One rejected value, named by file, row, field, value and reason."""

    file: str
    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return _("%(file)s, row %(row)d, field %(field)s = “%(value)s”: %(reason)s") % {
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


def detect_encoding(path: Path) -> str:
    """UTF-8 when the first megabyte decodes as UTF-8, else GB18030 (a superset of GBK)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES + 1)
    if len(head) > SNIFF_BYTES:
        # Do not judge a multi-byte character cut in half at the boundary.
        head = head[: SNIFF_BYTES - 4]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def normalise_encoding(name: str) -> str:
    lowered = name.strip().lower().replace("_", "-")
    if lowered in {"gbk", "gb2312", "gb18030", "cp936"}:
        return "gb18030"
    if lowered in {"utf8", "utf-8", "utf-8-sig"}:
        return "utf-8-sig"
    return lowered


def read_csv(path: Path, *, encoding: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as a spreadsheet shows it, row). The header is row 1."""
    chosen = normalise_encoding(encoding) if encoding else detect_encoding(path)
    with path.open("r", encoding=chosen, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        for index, row in enumerate(reader, start=2):
            yield index, {k: (v or "").strip() for k, v in row.items() if k is not None}


def write_errors(path: Path, errors: list[RowError]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["file", "row", "field", "value", "reason"])
    for error in errors:
        writer.writerow([error.file, error.row, error.field, error.value, error.reason])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
