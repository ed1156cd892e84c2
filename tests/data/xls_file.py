"""A minimal Excel 97-2003 (.xls, BIFF8) writer for tests: no library at hand writes the format.

Each sheet is (name, cells, hidden rows, hidden columns, merges), rows and columns counted from
1 as in Excel. A cell is text, a number, a bool, or an `XlsError` (#N/A and the like). The
workbook stream sits in a compound file (OLE2) of one FAT sector, as Excel's own files do.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

ERROR_CODES = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#N/A": 0x2A}
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512


@dataclass(frozen=True)
class XlsError:
    text: str  # "#N/A"


@dataclass
class XlsSheet:
    name: str
    cells: dict[tuple[int, int], object]
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0, 0, 0, 0x06))


def _text(value: str) -> bytes:
    return struct.pack("<HB", len(value), 1) + value.encode("utf-16-le")


def _sheet_stream(sheet: XlsSheet) -> bytes:
    parts = [_bof(0x0010)]
    for column in sorted(sheet.hidden_columns):
        parts.append(
            _record(0x007D, struct.pack("<HHHHHH", column - 1, column - 1, 2560, 15, 1, 0))
        )
    for row in sorted(sheet.hidden_rows):
        parts.append(
            _record(0x0208, struct.pack("<HHHHHHHH", row - 1, 0, 1, 255, 0, 0, 0x0120, 15))
        )
    for (row, column), value in sorted(sheet.cells.items()):
        place = struct.pack("<HHH", row - 1, column - 1, 15)
        if isinstance(value, XlsError):
            parts.append(_record(0x0205, place + struct.pack("<BB", ERROR_CODES[value.text], 1)))
        elif isinstance(value, bool):
            parts.append(_record(0x0205, place + struct.pack("<BB", int(value), 0)))
        elif isinstance(value, int | float):
            parts.append(_record(0x0203, place + struct.pack("<d", float(value))))
        else:
            parts.append(_record(0x0204, place + _text(str(value))))
    if sheet.merges:
        ranges = b"".join(
            struct.pack("<HHHH", r0 - 1, r1 - 1, c0 - 1, c1 - 1) for r0, c0, r1, c1 in sheet.merges
        )
        parts.append(_record(0x00E5, struct.pack("<H", len(sheet.merges)) + ranges))
    parts.append(_record(0x000A, b""))
    return b"".join(parts)


def _workbook_stream(sheets: list[XlsSheet]) -> bytes:
    bodies = [_sheet_stream(s) for s in sheets]
    bound = [
        lambda offset, name=s.name: _record(
            0x0085, struct.pack("<IBB", offset, 0, 0) + struct.pack("<BB", len(name), 1)
            + name.encode("utf-16-le")
        )
        for s in sheets
    ]  # fmt: skip
    head = _bof(0x0005) + _record(0x0042, struct.pack("<H", 1200))
    globals_size = len(head) + sum(len(b(0)) for b in bound) + 4
    offsets, at = [], globals_size
    for body in bodies:
        offsets.append(at)
        at += len(body)
    stream = head + b"".join(b(o) for b, o in zip(bound, offsets, strict=True))
    stream += _record(0x000A, b"") + b"".join(bodies)
    # At least 4096 bytes, so that the stream lives in ordinary sectors, not the mini stream.
    return stream + b"\0" * max(0, 4096 - len(stream))


def _entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
        + struct.pack("<III", NO_STREAM, NO_STREAM, child)
        + b"\0" * 36
        + struct.pack("<IQ", start, size)
    )


def write_xls(path: Path, sheets: list[XlsSheet]) -> Path:
    stream = _workbook_stream(sheets)
    sectors = (len(stream) + SECTOR - 1) // SECTOR
    assert sectors + 2 <= SECTOR // 4, "one FAT sector holds the test workbooks"
    fat = [FAT_SECTOR, END] + [2 + i + 1 for i in range(sectors - 1)] + [END]
    fat += [FREE] * (SECTOR // 4 - len(fat))
    directory = (
        _entry("Root Entry", 5, 1, END, 0)
        + _entry("Workbook", 2, NO_STREAM, 2, len(stream))
        + _entry("", 0, NO_STREAM, 0, 0) * 2
    )
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
        + struct.pack("<109I", 0, *([FREE] * 108))
    )
    data = header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory
    path.write_bytes(data + stream.ljust(sectors * SECTOR, b"\0"))
    return path
