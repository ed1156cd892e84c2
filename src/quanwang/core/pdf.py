"""PDFs and images with Chinese text: the CJK font every document embeds, and HTML to PDF by
WeasyPrint. One place for the campaign report, commission and incentive statements and the
龙虎榜 image, so they all follow `QUANWANG_PDF_FONT`."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# Family names fontconfig knows CJK fonts by, tried after the embedded file.
FALLBACK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC")


def font_path() -> Path:
    """The CJK font file to embed: the one `QUANWANG_PDF_FONT` names, else Debian's."""
    return Path(getattr(settings, "QUANWANG_PDF_FONT", None) or DEFAULT_FONT)


def font_face_css() -> str:
    """@font-face for the CJK font to embed, and the family list to use it by."""
    font = font_path()
    families = ", ".join(f'"{name}"' for name in FALLBACK_FAMILIES)
    if font.is_file():
        face = f'@font-face {{ font-family: "QuanwangCJK"; src: url("{font.as_uri()}"); }}'
        return f'{face}\nbody {{ font-family: "QuanwangCJK", {families}, sans-serif; }}'
    # No file: let fontconfig find an installed CJK font by name.
    return f"body {{ font-family: {families}, sans-serif; }}"


def html_to_pdf(html: str) -> bytes:
    """`html` as a PDF (its fonts embedded)."""
    import weasyprint  # type: ignore[import-untyped]  # heavy: loaded when a PDF is asked for

    pdf: bytes = weasyprint.HTML(string=html, base_url=str(Path.cwd())).write_pdf()
    return pdf
