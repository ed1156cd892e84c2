"""Sharing a board: an XLSX file (core.tabular, the one writer) with every row of the board,
and a PNG image sized for a WeChat group (1080 px wide: the top and the bottom of the board)
drawn with the CJK font the PDF reports embed (settings.QUANWANG_PDF_FONT, else
core.pdf.DEFAULT_FONT); without that font the image is refused, never drawn as tofu."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.pdf import font_path
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes
from quanwang.performance.boards import present
from quanwang.performance.boards.reading import Board, Entry

IMAGE_WIDTH = 1080
ROW_HEIGHT = 64
HEADER_HEIGHT = 190
SECTION_HEIGHT = 72
FOOTER_HEIGHT = 70
#: Entries on each end of the image: the 龙榜 and the 虎榜.
IMAGE_TOP = 10


def xlsx_rows(board: Board) -> list[list[object]]:
    """The board's rows as the file holds them (one per entry, ranked first)."""
    write = present.scorer(board.info)
    return [
        [
            entry.rank if entry.rank is not None else "",
            entry.row.name,
            entry.row.key,
            write(entry.row.score),
            entry.row.score if entry.row.score is not None else "",
            entry.row.target if entry.row.target is not None else "",
            entry.row.attainment if entry.row.attainment is not None else "",
            present.movement_text(entry.since_yesterday, entry.places_yesterday),
            present.movement_text(entry.since_last_week, entry.places_last_week),
        ]
        for entry in board.entries
    ]


def board_xlsx(board: Board, *, within_name: str) -> bytes:
    book = new_workbook()
    sheet = book.active
    sheet.title = _("Leaderboard")[:31]
    append_row(sheet, [present.board_title(board.info)])
    append_row(sheet, [present.subtitle(board, within_name=within_name)])
    append_row(sheet, [_("Snapshot"), board.snapshot or "", _("Computed at"), _when(board)])
    append_row(
        sheet,
        [
            _("Rank"),
            _("Name"),
            _("Code"),
            _("Score"),
            _("Score (number)"),
            _("Target"),
            _("Attainment"),
            _("Since yesterday"),
            _("Since last week"),
        ],
    )
    for row in xlsx_rows(board):
        append_row(sheet, row)
    return workbook_bytes(book)


def _when(board: Board) -> str:
    return f"{board.computed_at:%Y-%m-%d %H:%M}" if board.computed_at else ""


def board_png(board: Board, *, within_name: str, top: int = IMAGE_TOP) -> bytes:
    """The board's top and bottom as a PNG 1080 px wide; ServiceError when the CJK font is
    missing (naming the file and the setting)."""
    from PIL import Image, ImageDraw, ImageFont

    path = font_path()
    if not path.is_file():
        raise ServiceError(
            _(
                "The Chinese font %(path)s is missing: install fonts-wqy-microhei or set "
                "QUANWANG_PDF_FONT to a CJK font file."
            )
            % {"path": path},
            field="font",
        )

    def font(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(path), size)

    best = board.top(top)
    worst = [e for e in board.bottom(top) if e not in best] if board.ranked > top else []
    rows = len(best) + len(worst)
    sections = 1 + (1 if worst else 0)
    height = HEADER_HEIGHT + sections * SECTION_HEIGHT + max(rows, 1) * ROW_HEIGHT + FOOTER_HEIGHT
    image = Image.new("RGB", (IMAGE_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, IMAGE_WIDTH, HEADER_HEIGHT - 20], fill="#b71c1c")
    draw.text((40, 30), present.board_title(board.info), font=font(56), fill="white")
    draw.text(
        (40, 110), present.subtitle(board, within_name=within_name), font=font(30), fill="white"
    )
    y = HEADER_HEIGHT
    y = _section(draw, y, _("Dragon board (top)"), best, board, font, colour="#b71c1c")
    if worst:
        y = _section(draw, y, _("Tiger board (bottom)"), worst, board, font, colour="#37474f")
    footer = _("Snapshot %(snapshot)s · computed %(when)s") % {
        "snapshot": board.snapshot or "—",
        "when": _when(board) or "—",
    }
    draw.text((40, height - FOOTER_HEIGHT + 20), footer, font=font(24), fill="#616161")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _section(
    draw: object,
    y: int,
    heading: str,
    entries: list[Entry],
    board: Board,
    font: object,
    *,
    colour: str,
) -> int:
    canvas = draw  # ImageDraw.ImageDraw
    canvas.text((40, y + 14), heading, font=font(40), fill=colour)  # type: ignore[attr-defined,operator]
    y += SECTION_HEIGHT
    for index, entry in enumerate(entries):
        if index % 2:
            canvas.rectangle([0, y, IMAGE_WIDTH, y + ROW_HEIGHT], fill="#f5f5f5")  # type: ignore[attr-defined]
        text = font(34)  # type: ignore[operator]
        canvas.text((40, y + 12), present.rank_text(entry), font=text, fill=colour)  # type: ignore[attr-defined]
        canvas.text((150, y + 12), entry.row.name[:16], font=text, fill="#212121")  # type: ignore[attr-defined]
        canvas.text(  # type: ignore[attr-defined]
            (640, y + 12),
            present.score_text(board.info, entry.row.score),
            font=text,
            fill="#212121",
        )
        moved = present.movement_text(entry.since_yesterday, entry.places_yesterday)
        tint = (
            "#c62828"
            if moved.startswith("↑")
            else "#2e7d32"
            if moved.startswith("↓")
            else "#757575"
        )
        canvas.text((930, y + 12), moved, font=text, fill=tint)  # type: ignore[attr-defined]
        y += ROW_HEIGHT
    return y
