"""What a workbook says about a sheet that calamine does not: hidden rows and columns, cells
holding an Excel error (#N/A, #DIV/0!), and formulas saved without their result.

calamine (0.9.1) reads an error cell and a formula without a stored result as an empty cell;
loaded as such, the value would be lost in silence. These facts are read from the file itself:
for .xlsx/.xlsm from the sheet's XML, streamed in chunks with a search for the few attributes
that matter (no XML parse of every cell, which costs seconds on a 200,000-row sheet); for .xls
from the BIFF8 records of the workbook stream.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

CHUNK_BYTES = 4 << 20
# Error codes in a BIFF8 BoolErr or Formula record [MS-XLS 2.5.97].
BIFF_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
    0x2B: "#GETTING_DATA",
}
NOT_CALCULATED = ""  # `SheetFacts.errors` value of a formula saved without its result


@dataclass
class SheetFacts:
    """Rows and columns are numbered as in Excel, from 1."""

    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    # (row, column) → the error's text, or NOT_CALCULATED for a formula with no stored result
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


class _Unplaced(Exception):
    """A row or cell without its r attribute: its place needs the slow, counting read."""


def column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_place(reference: str) -> tuple[int, int]:
    match = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", reference)
    if match is None:
        raise _Unplaced(reference)
    return int(match[2]), column_number(match[1])


# --- .xlsx / .xlsm -------------------------------------------------------------------------


def xlsx_facts(path: Path, sheet_name: str) -> SheetFacts:
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, sheet_name)
        if part is None:
            return SheetFacts()
        try:
            with archive.open(part) as stream:
                return _scan_xml(stream)
        except _Unplaced:
            with archive.open(part) as stream:
                return _parse_xml(stream)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding the named sheet's XML (workbook.xml names it by relationship)."""
    relation = None
    for element in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter():
        if _local(element.tag) == "sheet" and element.get("name") == sheet_name:
            relation = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
    if relation is None:
        return None
    for element in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter():
        if _local(element.tag) == "Relationship" and element.get("Id") == relation:
            target = element.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_HIDDEN = re.compile(rb'hidden\s*=\s*["\'](?:1|true)["\']')
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet\b")


def _attributes(tag: bytes) -> dict[str, str]:
    return {
        _local(name.decode().rsplit(":", 1)[-1]): (double or single).decode()
        for name, double, single in _ATTRIBUTE.findall(tag)
    }


def _scan_xml(stream: IO[bytes]) -> SheetFacts:
    """Facts from the sheet's XML, read in chunks that end after a whole row."""
    facts = SheetFacts()
    prefix = b""
    tail = b""
    first = True
    while True:
        chunk = stream.read(CHUNK_BYTES)
        buffer = tail + chunk
        if first:
            root = _ROOT.search(buffer)
            prefix = (root[1] + b":") if root is not None and root[1] else b""
            first = False
        row_end = b"</" + prefix + b"row>"
        cut = len(buffer) if not chunk else buffer.rfind(row_end)
        if cut < 0:
            tail = buffer
            continue
        if chunk:
            cut += len(row_end)
        _scan_segment(buffer[:cut], prefix, facts)
        tail = buffer[cut:]
        if not chunk:
            return facts


def _tag_at(segment: bytes, position: int) -> tuple[int, bytes]:
    """The start and text of the tag around `position`."""
    start = segment.rfind(b"<", 0, position)
    end = segment.find(b">", position)
    return start, segment[start : end + 1]


def _scan_segment(segment: bytes, prefix: bytes, facts: SheetFacts) -> None:
    cell_end = b"</" + prefix + b"c>"
    for match in _HIDDEN.finditer(segment):
        _start, tag = _tag_at(segment, match.start())
        name = tag[1:].split(None, 1)[0].split(b":")[-1]
        attributes = _attributes(tag)
        if name == b"row":
            if "r" not in attributes:
                raise _Unplaced("row")
            facts.hidden_rows.add(int(attributes["r"]))
        elif name == b"col":
            low, high = int(attributes.get("min", 0)), int(attributes.get("max", 0))
            facts.hidden_columns.update(range(low, high + 1))
    for marker in (b't="e"', b"t='e'"):
        position = segment.find(marker)
        while position >= 0:
            start, tag = _tag_at(segment, position)
            if tag[1:].split(None, 1)[0] == prefix + b"c":
                end = segment.find(cell_end, start)
                value = re.search(rb"<(?:\w+:)?v>([^<]*)</", segment[start:end])
                facts.errors[_cell_place(_attributes(tag).get("r", ""))] = (
                    value[1].decode() if value else "#N/A"
                )
            position = segment.find(marker, position + 1)
    formula = b"<" + prefix + b"f"
    position = segment.find(formula)
    while position >= 0:
        follows = segment[position + len(formula) : position + len(formula) + 1]
        if follows in (b" ", b">", b"/"):
            _record_uncalculated(segment, position, prefix, cell_end, facts)
        position = segment.find(formula, position + 1)


def _record_uncalculated(
    segment: bytes, position: int, prefix: bytes, cell_end: bytes, facts: SheetFacts
) -> None:
    """A formula cell whose stored result is missing or empty, unless it is a text result."""
    end = segment.find(cell_end, position)
    body = segment[position:end]
    value = body.find(b"<" + prefix + b"v>")
    if value >= 0 and body[value + len(prefix) + 3 : value + len(prefix) + 4] != b"<":
        return  # a stored result
    start = segment.rfind(b"<" + prefix + b"c ", 0, position)
    attributes = _attributes(segment[start : segment.find(b">", start) + 1])
    if attributes.get("t") in {"str", "inlineStr", "e"}:
        return  # an empty text result, or an error (read as such)
    facts.errors.setdefault(_cell_place(attributes.get("r", "")), NOT_CALCULATED)


def _parse_xml(stream: IO[bytes]) -> SheetFacts:
    """The same facts by a full XML parse that counts rows and cells without an r attribute."""
    facts = SheetFacts()
    row_number = 0
    for _event, element in ElementTree.iterparse(stream, events=("end",)):
        name = _local(element.tag)
        if name == "col" and element.get("hidden") in {"1", "true"}:
            low, high = int(element.get("min", 0)), int(element.get("max", 0))
            facts.hidden_columns.update(range(low, high + 1))
        if name != "row":
            continue
        row_number = int(element.get("r") or row_number + 1)
        if element.get("hidden") in {"1", "true"}:
            facts.hidden_rows.add(row_number)
        column = 0
        for cell in element:
            reference = cell.get("r")
            column = _cell_place(reference)[1] if reference else column + 1
            children = {_local(child.tag): child for child in cell}
            kind = cell.get("t", "n")
            stored = children.get("v")
            if kind == "e":
                text = stored.text if stored is not None else None
                facts.errors[(row_number, column)] = text or "#N/A"
            elif (
                "f" in children
                and kind not in {"str", "inlineStr"}
                and (stored is None or not (stored.text or "").strip())
            ):
                facts.errors[(row_number, column)] = NOT_CALCULATED
        element.clear()
    return facts


# --- .xls (BIFF8 in a compound file) -------------------------------------------------------

FREE_SECTOR = 0xFFFFFFFF
END_OF_CHAIN = 0xFFFFFFFE


def xls_facts(path: Path, sheet_name: str) -> SheetFacts:
    """Facts from a BIFF8 workbook; an older BIFF, or a stream this cannot read, gives none
    (calamine has read the values; only these extra checks are left out)."""
    try:
        stream = _compound_stream(path.read_bytes(), {"Workbook", "Book"})
    except (ValueError, struct.error, IndexError):
        return SheetFacts()
    if stream is None:
        return SheetFacts()
    offset = _sheet_offset(stream, sheet_name)
    return SheetFacts() if offset is None else _biff_facts(stream, offset)


def _compound_stream(data: bytes, names: set[str]) -> bytes | None:
    """The named stream of a compound file (OLE2 / CFB): the container of an .xls."""
    if data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValueError("not a compound file")
    sector_size = 1 << struct.unpack_from("<H", data, 30)[0]
    mini_size = 1 << struct.unpack_from("<H", data, 32)[0]
    (directory_start,) = struct.unpack_from("<I", data, 48)
    mini_cutoff, mini_fat_start = struct.unpack_from("<II", data, 56)
    difat_start, difat_count = struct.unpack_from("<II", data, 68)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s != FREE_SECTOR]
    next_difat = difat_start
    for _ in range(difat_count):
        entries = struct.unpack_from(f"<{sector_size // 4}I", data, (next_difat + 1) * sector_size)
        fat_sectors += [s for s in entries[:-1] if s != FREE_SECTOR]
        next_difat = entries[-1]

    def sector(index: int) -> bytes:
        return data[(index + 1) * sector_size : (index + 2) * sector_size]

    fat = b"".join(sector(s) for s in fat_sectors)
    fat_entries = struct.unpack(f"<{len(fat) // 4}I", fat)

    def chain(start: int, table: tuple[int, ...], read: Callable[[int], bytes]) -> bytes:
        parts, index, seen = [], start, 0
        while index not in (END_OF_CHAIN, FREE_SECTOR) and seen <= len(table):
            parts.append(read(index))
            index, seen = table[index], seen + 1
        return b"".join(parts)

    directory = chain(directory_start, fat_entries, sector)
    (root_start,) = struct.unpack_from("<I", directory, 116)
    for offset in range(0, len(directory) - 127, 128):
        (length,) = struct.unpack_from("<H", directory, offset + 64)
        name = directory[offset : offset + max(0, length - 2)].decode("utf-16-le", "replace")
        if directory[offset + 66] != 2 or name not in names:
            continue
        start, size = struct.unpack_from("<II", directory, offset + 116)
        if size >= mini_cutoff:
            return chain(start, fat_entries, sector)[:size]
        mini_stream = chain(root_start, fat_entries, sector)
        mini_fat = chain(mini_fat_start, fat_entries, sector)
        mini_entries = struct.unpack(f"<{len(mini_fat) // 4}I", mini_fat)
        return chain(start, mini_entries, _slicer(mini_stream, mini_size))[:size]
    return None


def _slicer(data: bytes, size: int) -> Callable[[int], bytes]:
    """Sector `index` of `size` bytes of `data`."""
    return lambda index: data[index * size : (index + 1) * size]


def _records(stream: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    while offset + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, offset)
        yield kind, stream[offset + 4 : offset + 4 + length]
        offset += 4 + length


def _sheet_offset(stream: bytes, sheet_name: str) -> int | None:
    """Where the named sheet's records start (BoundSheet8 in the globals), BIFF8 only."""
    for kind, body in _records(stream, 0):
        if kind == 0x0809 and struct.unpack_from("<H", body)[0] != 0x0600:
            return None  # not BIFF8
        if kind == 0x0085:
            count, flags = body[6], body[7]
            text = body[8 : 8 + count * 2] if flags & 1 else body[8 : 8 + count]
            name = text.decode("utf-16-le" if flags & 1 else "latin-1")
            if name == sheet_name:
                return int(struct.unpack_from("<I", body)[0])
        if kind == 0x000A:
            return None
    return None


def _biff_facts(stream: bytes, offset: int) -> SheetFacts:
    facts = SheetFacts()
    for kind, body in _records(stream, offset):
        if kind == 0x000A:  # EOF of the sheet
            break
        if kind == 0x0208 and len(body) >= 14:  # Row: fDyZero hides it
            row, flags = struct.unpack_from("<H", body)[0], struct.unpack_from("<H", body, 12)[0]
            if flags & 0x20:
                facts.hidden_rows.add(row + 1)
        elif kind == 0x007D and len(body) >= 10:  # ColInfo
            first, last = struct.unpack_from("<HH", body)
            if struct.unpack_from("<H", body, 8)[0] & 1:
                facts.hidden_columns.update(range(first + 1, last + 2))
        elif kind == 0x0205 and len(body) >= 8 and body[7] == 1:  # BoolErr holding an error
            row, column = struct.unpack_from("<HH", body)
            facts.errors[(row + 1, column + 1)] = BIFF_ERRORS.get(body[6], "#N/A")
        elif kind == 0x0006 and len(body) >= 14 and body[12:14] == b"\xff\xff" and body[6] == 2:
            row, column = struct.unpack_from("<HH", body)  # a formula whose result is an error
            facts.errors[(row + 1, column + 1)] = BIFF_ERRORS.get(body[8], "#N/A")
    return facts
