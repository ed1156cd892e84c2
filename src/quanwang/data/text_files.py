"""Text files (CSV/TXT) made ready for DuckDB's reader: what the file is, its encoding, its
separator and its header, and a UTF-8 copy where the file is in another encoding.

Every row reaches the reader, so that each one is counted (loaded or quarantined); a row whose
text cannot be told for certain reaches it with its non-ASCII bytes made invalid UTF-8, which
the reader rejects as a row in another encoding. Its quotes, separators and line breaks are
kept, so that it stays one row and the rows after it keep their numbers.

- UTF-8 (with or without a BOM) is read by DuckDB from the file itself: a row in another
  encoding is rejected by the reader.
- GB18030 (GBK, GB2312) is transcoded in 16 MB blocks. GBK decodes most UTF-8 byte sequences
  without an error (王五 in UTF-8 reads as 鐜嬩簲), so a line that is valid UTF-8 and holds
  Chinese is looked at on its own (`line_reading`): read as UTF-8 where only the UTF-8 reading
  is common Chinese text, set aside where no reading is certain.
- UTF-16 (Excel's "Unicode text") and any other named encoding are transcoded, a row with a
  sequence that does not decode set aside.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from enum import Enum
from pathlib import Path

import numpy as np
from django.utils.translation import gettext as _

from quanwang.core.tabular import detect_encoding, normalise_encoding

# A row longer than this is quarantined (DuckDB's max_line_size; read at call time, so that a
# test can lower it).
ROW_MAX_BYTES = 32 << 20
CHUNK_BYTES = 16 << 20
HEAD_BYTES = 64 << 10  # what the file-kind check and the separator sniff look at
SNIFF_ROWS = 100
SEPARATORS = (",", "\t", ";", "|")
# An undecodable character becomes a lone surrogate, written as this byte: invalid UTF-8.
INVALID_BYTE = b"\xff"
_MARK_ERRORS = "quanwang-invalid"


def _mark_invalid(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\udcff", exc.end


codecs.register_error(_MARK_ERRORS, _mark_invalid)
_MARK_HIGH_BYTES = bytes.maketrans(bytes(range(0x80, 0x100)), INVALID_BYTE * 0x80)

# Text a Chinese operator's file holds: ASCII, the middle dot of names, general and CJK
# punctuation, CJK ideographs (extension A to H too), full-width forms and emoji. Common
# Chinese text (`_common_chinese`) is that within GB2312; UTF-8 read as GBK gives rare
# ideographs outside it, and GBK read as UTF-8 gives Latin, Greek or Cyrillic letters, or
# characters of the unassigned planes.
_NOT_CHINESE = re.compile(
    "[^\x00-\x7f\u00b7\u2000-\u206f\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff00-\uffef\U0001f000-\U0001faff\U00020000-\U000323af]"
)
_WIDE = re.compile("[^\x00-\x7f\u00b7]")
_IDEOGRAPH = re.compile("[\u4e00-\u9fff]")
_NOT_IDEOGRAPH = re.compile("[\x00-\x7f\u00b7\u2000-\u206f\u3000-\u303f\uff00-\uffef]")

# Lines end in LF, CR LF or CR (Excel for Mac's "CSV (Macintosh)").
_LINE_END = re.compile(rb"[\r\n]")
_LINE_BREAK = re.compile(rb"(\r\n|\r|\n)")
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc: an OLE2 compound file
_BINARY_MAGIC = (b"\x1f\x8b", b"%PDF-", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x89PNG")
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1a")


class SourceError(Exception):
    """The whole file cannot be read; the message names the file and what is wrong."""


class Reading(Enum):
    """How one line of a GB18030 file is read."""

    FILE = "gb18030"
    UTF8 = "utf-8"
    NEITHER = "neither"  # no reading is certain: both are Chinese text, or none decodes


def file_encoding(path: Path, *, named: str | None) -> str:
    """The codec to read `path` with: `named` where the user names one, else detected. Refuses
    a workbook, archive or other binary file by what it is."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(_ZIP):
        raise SourceError(
            _("%(file)s looks like an Excel workbook (zip), not a CSV: rename it .xlsx")
            % {"file": path.name}
        )
    if head.startswith(_OLE):
        raise SourceError(
            _("%(file)s looks like an old Excel workbook, not a CSV: rename it .xls")
            % {"file": path.name}
        )
    if named:
        chosen = normalise_encoding(named)
        try:
            codecs.lookup(chosen)
        except LookupError as exc:
            raise SourceError(
                _("%(file)s: %(encoding)s is not an encoding; name one such as gbk or utf-8")
                % {"file": path.name, "encoding": named}
            ) from exc
        return chosen
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if bom_free := _utf16_without_bom(head):
        return bom_free
    if head.startswith(_BINARY_MAGIC) or _looks_binary(head):
        raise SourceError(_("%(file)s is a binary file, not text") % {"file": path.name})
    return detect_encoding(path)


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le or -be where NUL bytes fill every other place, as in ASCII text in UTF-16."""
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_binary(head: bytes) -> bool:
    """More than a NUL byte in 200 or a control character in 10: a stray NUL in an export is
    text's, a binary file has many."""
    return head.count(0) * 200 > len(head) or len(head.translate(None, _CONTROL)) < 0.9 * len(head)


def utf8_copy(path: Path, *, encoding: str, work_dir: Path) -> Path:
    """The file DuckDB reads: `path` itself when it is UTF-8, else a UTF-8 copy of it."""
    if encoding == "utf-8-sig":
        return path
    target = work_dir / "source.csv"
    if encoding == "gb18030":
        _transcode_gb18030(path, target)
    else:
        _transcode(path, encoding, target)
    return target


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """Stream `path` into UTF-8; an undecodable sequence becomes an invalid byte, so that the
    reader rejects its row."""
    decoder = codecs.getincrementaldecoder(encoding)(errors=_MARK_ERRORS)
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            sink.write(_utf8(decoder.decode(chunk)))
        sink.write(_utf8(decoder.decode(b"", final=True)))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # a marker '\udcff' → INVALID_BYTE


def _transcode_gb18030(path: Path, target: Path) -> None:
    """Transcode whole lines, block by block. A line longer than ROW_MAX_BYTES is streamed
    through as GB18030 (the reader rejects it for its length) so that it is never held."""
    pending = b""
    long_line: codecs.IncrementalDecoder | None = None
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            if long_line is not None:
                found = _LINE_END.search(chunk)
                end = -1 if found is None else found.start()
                if end < 0:
                    sink.write(_utf8(long_line.decode(chunk)))
                    continue
                sink.write(_utf8(long_line.decode(chunk[: end + 1], final=True)))
                long_line, chunk = None, chunk[end + 1 :]
            data = pending + chunk if pending else chunk
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            if cut:
                sink.write(gb18030_block(data[:cut]))
            pending = data[cut:]
            if len(pending) > ROW_MAX_BYTES:
                long_line = codecs.getincrementaldecoder("gb18030")(errors=_MARK_ERRORS)
                sink.write(_utf8(long_line.decode(pending)))
                pending = b""
        if long_line is not None:
            sink.write(_utf8(long_line.decode(b"", final=True)))
        elif pending:
            sink.write(gb18030_block(pending))


def gb18030_block(block: bytes) -> bytes:
    """Whole lines of a GB18030 file in UTF-8. Decoded in one call, except the lines that
    `line_reading` does not read as GB18030 and, where a line does not decode, that part."""
    out: list[bytes] = []
    done = 0  # block[:done] is in `out`
    for start, end in _wide_utf8_lines(block):
        line = block[start:end]
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not UTF-8: GB18030, read with its part
        reading = line_reading(line)
        if reading is not Reading.FILE:
            out.append(_gb18030_part(block[done:start]))
            out.append(line if reading is Reading.UTF8 else line.translate(_MARK_HIGH_BYTES))
            done = end
    out.append(_gb18030_part(block[done:]))
    return b"".join(out)


def _wide_utf8_lines(block: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line holding a lead byte E2-F4 and two continuation bytes: a UTF-8
    character of three or four bytes, without which a line cannot read as Chinese in UTF-8.
    In numpy: a regular expression takes several times as long over a block of GBK text."""
    data = np.frombuffer(block, dtype=np.uint8)
    if data.size < 3:
        return []
    continuation = (data & 0xC0) == 0x80
    hits = np.flatnonzero(
        (data[:-2] >= 0xE2) & (data[:-2] <= 0xF4) & continuation[1:-1] & continuation[2:]
    )
    if hits.size == 0:
        return []
    breaks = np.flatnonzero((data == 0x0A) | (data == 0x0D))
    lines = np.unique(np.searchsorted(breaks, hits))
    starts = np.concatenate(([0], breaks + 1))[lines]
    ends = np.concatenate((breaks, [data.size]))[lines]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _gb18030_part(part: bytes) -> bytes:
    try:
        return part.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        pieces = _LINE_BREAK.split(part)  # line, its break, line, ...
        pieces[::2] = [_gb18030_line(line) for line in pieces[::2]]
        return b"".join(pieces)


def _gb18030_line(line: bytes) -> bytes:
    reading = line_reading(line)
    if reading is Reading.FILE:
        return line.decode("gb18030").encode("utf-8")
    return line if reading is Reading.UTF8 else line.translate(_MARK_HIGH_BYTES)


def line_reading(line: bytes) -> Reading:
    """How to read a line of a GB18030 file; never a guess between two readings.

    - Not valid UTF-8: GB18030 (NEITHER where it does not decode either).
    - Valid UTF-8 but not GB18030: UTF-8.
    - Both, where the UTF-8 reading is not Chinese text (`_chinese`): GB18030. GBK text that
      happens to be valid UTF-8 reads as Latin, Greek or Cyrillic letters.
    - Both, where the UTF-8 reading is common Chinese text (within GB2312) of two ideographs or
      more and the GB18030 reading is not: UTF-8. UTF-8 read as GBK gives rare ideographs
      (王五 reads 鐜嬩簲); GBK read as UTF-8 gives common ones only by chance, and twice in a
      line (hypothesis found single ones: 鏅亃 in GBK is 晁 and a letter in UTF-8) by far less.
    - Otherwise both readings are Chinese (许强 in UTF-8 is 璁稿己 in GBK): NEITHER.
    """
    if line.isascii():
        return Reading.FILE
    try:
        as_utf8 = line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            line.decode("gb18030")
        except UnicodeDecodeError:
            return Reading.NEITHER
        return Reading.FILE
    try:
        as_gb18030 = line.decode("gb18030")
    except UnicodeDecodeError:
        return Reading.UTF8
    if not _chinese(as_utf8):
        return Reading.FILE
    if (
        len(_IDEOGRAPH.findall(as_utf8)) >= 2
        and _common_chinese(as_utf8)
        and not _common_chinese(as_gb18030)
    ):
        return Reading.UTF8
    return Reading.NEITHER


def _chinese(text: str) -> bool:
    return _NOT_CHINESE.search(text) is None and _WIDE.search(text) is not None


def _common_chinese(text: str) -> bool:
    """Chinese text whose ideographs are all in GB2312 (its punctuation is not judged)."""
    if not _chinese(text):
        return False
    try:
        _NOT_IDEOGRAPH.sub("", text).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def sniff_separator(path: Path) -> str:
    """The separator that splits the header into more than one column and the rows after it
    into as many, judged on the file's first rows; a comma where none does."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES + 1)
    lines = head[:HEAD_BYTES].decode("utf-8-sig", errors="replace").splitlines(keepends=True)
    if len(head) > HEAD_BYTES and len(lines) > 1:
        lines.pop()  # cut short
    best, best_score = ",", (-1.0, 0)
    for separator in SEPARATORS:
        try:
            rows = [row for row in csv.reader(lines[: SNIFF_ROWS + 1], delimiter=separator) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width, data = len(rows[0]), rows[1:]
        agreeing = sum(len(row) == width for row in data) / len(data) if data else 1.0
        if (agreeing, width) > best_score:
            best, best_score = separator, (agreeing, width)
    return best


def first_row(path: Path, *, display_name: str, delimiter: str) -> list[str] | None:
    """The fields of row 1 of a UTF-8 file. A row longer than ROW_MAX_BYTES is refused without
    being held, whatever its length."""
    kept, size, quoted = bytearray(), 0, False
    limit = ROW_MAX_BYTES
    with path.open("rb") as handle:
        while piece := handle.read(1 << 20):
            end = None
            for match in re.finditer(rb'["\r\n]', piece):
                if match.group() == b'"':
                    quoted = not quoted
                elif not quoted:
                    end = match.start()
                    break
            if end is not None:
                size += end
                if size <= limit:
                    kept += piece[:end]
                break
            size += len(piece)
            if size <= limit:
                kept += piece
            else:
                kept.clear()  # only its length matters now
    if size > limit:
        raise SourceError(
            _(
                "%(file)s, row 1: a row of %(size)s MB is longer than the %(limit)s MB "
                "a row may have"
            )
            % {"file": display_name, "size": megabytes(size), "limit": megabytes(limit)}
        )
    try:
        text = bytes(kept).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            _("%(file)s: row 1 is not valid UTF-8; name the file's encoding (e.g. gbk)")
            % {"file": display_name}
        ) from exc
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error as exc:
        # Python's own words cannot be translated: they follow a translated sentence.
        raise SourceError(
            _("%(file)s: row 1 (the header) cannot be read (%(detail)s)")
            % {"file": display_name, "detail": exc}
        ) from exc


def megabytes(size: int) -> str:
    """A size in MB as a reason states it: 200, 32, 1.5."""
    return f"{size / 2**20:.1f}".removesuffix(".0")
