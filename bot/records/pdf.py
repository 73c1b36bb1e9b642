"""Lay a `Doc` out as a PDF (fpdf2): the 8D report and the archived record.

fpdf2 is pure Python and embeds a TrueType font as a subset with a ToUnicode map (so the
Chinese text can be searched and copied). Its own table layout measures every character
several times over and costs seconds for a long timeline, so tables are laid out here:
each cell wrapped once with the font's widths (Chinese breaks between any two characters,
other text at spaces), then drawn line by line, so a row longer than a page continues on
the next one under a repeated heading row. fpdf2 is imported inside `render`, only when a
file is made."""

from __future__ import annotations

from typing import Any

from bot.records.doc import Doc
from bot.records.fonts import find_font, font_for

FONT = "cjk"
MARGIN = 15.0
PAD = 1.2  # mm inside a cell
HEADING_FILL = (226, 232, 240)
BAR_FILL = (44, 74, 110)
MM_PER_PT = 25.4 / 72


def render(doc: Doc, font_path: str = "") -> bytes:
    from fpdf import FPDF

    digest = doc.digest()
    w = doc.words
    font = font_for(find_font(font_path), _characters(doc, digest))

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
    _add_font(pdf, font)
    pdf.add_page()
    pdf.set_font(FONT, size=15)
    pdf.multi_cell(0, 8, f"{doc.title}\n{doc.ref}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for block in doc.blocks:
        kind = block[0]
        if kind == "h":
            if pdf.will_page_break(30):  # a heading never stands alone at a page's foot
                pdf.add_page()
            pdf.ln(3)
            pdf.set_font(FONT, size=12)
            pdf.set_fill_color(*BAR_FILL)
            pdf.set_text_color(255)
            pdf.cell(0, 7, f" {block[1]}", fill=True, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.ln(1.5)
        elif kind == "p":
            pdf.set_font(FONT, size=9.5)
            _grid(pdf, None, [[block[1]]], (1,))
        elif kind == "kv":
            pdf.set_font(FONT, size=9.5)
            _grid(pdf, None, [[k, v] for k, v in block[1]], (32, 68), key_column=True)
        elif kind == "table":
            pdf.set_font(FONT, size=8.5)
            columns = len(block[1])
            # the last column (details, actions) gets the room a sentence needs
            widths = (20,) * (columns - 1) + (20 + 20 * max(0, 5 - columns),)
            _grid(pdf, block[1], block[2], widths)
        pdf.ln(1)
    return bytes(pdf.output())


_templates: dict[str, Any] = {}


def _add_font(pdf: Any, path: str) -> None:
    """`pdf.add_font`, without reading the font's 7,500 glyph widths again for every PDF.

    fpdf2 parses a font per document (its TTFFont) and, on output, subsets the fontTools
    object in place. So the parsed TTFFont is kept as a template in this (helper) process
    and copied per document, each copy with a fresh, lazily read fontTools font for the
    in-place subsetting. This leans on fpdf2 2.x's `fonts` dict and TTFFont; should they
    change, the plain `add_font` is used."""
    try:
        from fontTools.ttLib import TTFont
        from fpdf.fonts import TTFFont

        template = _templates.get(path)
        if template is None:
            from pathlib import Path

            template = TTFFont(pdf, Path(path), FONT, "", None, None, None, 0)
            _templates[path] = template
        import copy

        font = copy.deepcopy(template)
        font.ttfont = TTFont(path, recalcTimestamp=False, recalcBBoxes=False, lazy=True)
        font.i = len(pdf.fonts) + 1
        pdf.fonts[FONT] = font
    except (AttributeError, TypeError, ImportError):
        pdf.add_font(FONT, fname=path)


def _characters(doc: Doc, digest: str) -> set[str]:
    w = doc.words
    text = doc.text() + doc.title + doc.ref + w("page", n=0, m=0) + w("hash") + digest
    return set(text) | set("0123456789")


def _grid(
    pdf: Any,
    headings: list[str] | None,
    rows: list[list[str]],
    weights: tuple[int, ...],
    *,
    key_column: bool = False,
) -> None:
    total = sum(weights)
    widths = [pdf.epw * x / total for x in weights]
    line_h = pdf.font_size * 1.45
    wrap = _Wrapper(pdf)

    def draw_row(cells: list[str], heading: bool) -> None:
        wrapped = [wrap(_clean(c), widths[i] - 2 * PAD) for i, c in enumerate(cells)]
        count = max(len(lines) for lines in wrapped)
        y = pdf.get_y()
        for n in range(count + 1):  # the padding above and below counts as one more line
            step = line_h if n < count else 2 * PAD
            if y + step + (2 * PAD if n == 0 else 0) > pdf.page_break_trigger:
                pdf.add_page()
                y = pdf.get_y()
                if head is not None and not heading:
                    y = draw_head()
            x = pdf.l_margin
            for i, lines in enumerate(wrapped):
                if heading or (key_column and i == 0):
                    pdf.set_fill_color(*HEADING_FILL)
                    pdf.rect(x, y, widths[i], step + (PAD if n == 0 else 0), style="F")
                if n < count and n < len(lines) and lines[n]:
                    pdf.text(x + PAD, y + (PAD if n == 0 else 0) + line_h * 0.72, lines[n])
                x += widths[i]
            y += step + (PAD if n == 0 else 0)
        pdf.set_draw_color(150)
        pdf.line(pdf.l_margin, y, pdf.l_margin + sum(widths), y)
        pdf.set_y(y)

    def draw_head() -> float:
        draw_row(head, heading=True)
        return pdf.get_y()

    head = [str(h) for h in headings] if headings is not None else None
    if head is not None:
        if pdf.get_y() + 3 * line_h > pdf.page_break_trigger:
            pdf.add_page()
        draw_head()
    for row in rows:
        draw_row([str(c) for c in row], heading=False)


class _Wrapper:
    """Greedy line breaking with the current font's advance widths."""

    def __init__(self, pdf: Any) -> None:
        self.widths = pdf.current_font.cw
        self.scale = pdf.font_size_pt * 0.001 * MM_PER_PT  # font units -> mm

    def __call__(self, text: str, width: float) -> list[str]:
        out: list[str] = []
        for para in text.split("\n"):
            out.extend(self._paragraph(para, width / self.scale))
        return out or [""]

    def _paragraph(self, text: str, limit: float) -> list[str]:
        lines, start, used, space = [], 0, 0.0, -1  # space: last break after a space
        cw = self.widths
        i = 0
        while i < len(text):
            ch = text[i]
            used += cw[ord(ch)]
            if ch == " ":
                space = i
            if used > limit and i > start:
                # at the last space; before this character for CJK (or an overlong word)
                cut = space + 1 if space > start and not _wide(ch) else i
                lines.append(text[start:cut].rstrip())
                start, space = cut, -1
                used = sum(cw[ord(c)] for c in text[start : i + 1])
            i += 1
        lines.append(text[start:])
        return lines


def _wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80  # CJK scripts and punctuation: a line may break before it


def _clean(text: Any) -> str:
    """fpdf2 draws what the font has; tabs and other control characters it has not."""
    s = str(text if text is not None else "")
    return "".join(ch if ch == "\n" or ch >= " " else " " for ch in s)
