"""Lay a `Doc` out as a PDF (fpdf2): the 8D report and the archived record.

fpdf2 is pure Python, embeds a TrueType font as a subset with a ToUnicode map (so the
Chinese text can be searched and extracted), and writes tables that break across pages
with their heading row repeated. It is imported here, inside `render`, only when a file
is made."""

from __future__ import annotations

from typing import Any

from bot.records.content import Doc
from bot.records.fonts import find_font, prepared

FONT = "cjk"
MARGIN = 15.0


def render(doc: Doc, font_path: str = "") -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    digest = doc.digest()
    w = doc.words
    font = find_font(font_path)

    class _Pdf(FPDF):
        def header(self) -> None:
            self.set_font(FONT, size=8)
            self.set_text_color(90)
            self.cell(0, 5, f"{doc.title} · {doc.ref} · {w('version')} {doc.version}", align="R")
            self.ln(7)
            self.set_text_color(0)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=7.5)
            self.set_text_color(90)
            page = w("page", n=self.page_no(), m="{nb}")
            self.cell(
                0,
                5,
                f"{doc.ref} · {w('version')} {doc.version} · {page} · {w('hash')} {digest}",
                align="C",
            )
            self.set_text_color(0)

    pdf = _Pdf(format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(f"{doc.title} {doc.ref} {doc.version}")
    pdf.set_creator("complaint desk")
    cut, has = prepared(font)
    pdf.add_font(FONT, fname=cut)
    if any(ord(ch) not in has for ch in _characters(doc, digest) if ch > " "):
        # a rarer character: the whole font draws what the cut has not (slower, rare)
        pdf.add_font("full", fname=font)
        pdf.set_fallback_fonts(["full"], exact_match=False)
    pdf.add_page()
    pdf.set_font(FONT, size=15)
    pdf.multi_cell(0, 8, f"{doc.title}\n{doc.ref}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    heading = FontFace(emphasis="", fill_color=(226, 232, 240), size_pt=9)
    for block in doc.blocks:
        kind = block[0]
        if kind == "h":
            if pdf.will_page_break(30):  # a heading never stands alone at a page's foot
                pdf.add_page()
            pdf.ln(3)
            pdf.set_font(FONT, size=12)
            pdf.set_fill_color(44, 74, 110)
            pdf.set_text_color(255)
            pdf.cell(0, 7, f" {block[1]}", fill=True, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.set_fill_color(255)  # tables fill with the current colour
            pdf.ln(1.5)
        elif kind == "p":
            pdf.set_font(FONT, size=9.5)
            pdf.multi_cell(0, 5, _clean(block[1]), new_x="LMARGIN", new_y="NEXT")
        elif kind == "kv":
            pdf.set_font(FONT, size=9.5)
            _table(pdf, None, [[k, v] for k, v in block[1]], (32, 68), heading, key_column=True)
        elif kind == "table":
            pdf.set_font(FONT, size=8.5)
            _table(pdf, block[1], block[2], None, heading)
        pdf.ln(1)
    return bytes(pdf.output())


def _characters(doc: Doc, digest: str) -> set[str]:
    w = doc.words
    return set(doc.text() + doc.title + doc.ref + w("page", n=0, m=0) + w("hash") + digest)


def _table(
    pdf: Any,
    headings: list[str] | None,
    rows: list[list[str]],
    widths: tuple[int, ...] | None,
    heading_style: Any,
    key_column: bool = False,
) -> None:
    if not rows and headings is None:
        return
    columns = len(headings or rows[0])
    if widths is None:
        # the last column (details, actions) gets the room a sentence needs
        widths = tuple([20] * (columns - 1) + [20 + 20 * max(0, 5 - columns)]) if columns else ()
    with pdf.table(
        col_widths=widths,
        first_row_as_headings=headings is not None,
        headings_style=heading_style,
        text_align="LEFT",
        line_height=pdf.font_size * 1.45,
        padding=1.2,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        if headings is not None:
            table.row([_clean(h) for h in headings])
        for r in rows:
            row = table.row()
            for i, cell in enumerate(r):
                if key_column and i == 0:
                    row.cell(_clean(cell), style=heading_style)
                else:
                    row.cell(_clean(cell))


def _clean(text: Any) -> str:
    """fpdf2 draws what the font has; tabs and other control characters it has not."""
    s = str(text if text is not None else "")
    return "".join(ch if ch == "\n" or ch >= " " else " " for ch in s)
