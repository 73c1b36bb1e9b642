"""The register as files: XLSX (openpyxl) and CSV in UTF-8 with a BOM.

openpyxl writes real Excel dates, styles, frozen panes and autofilter, and reads its own
files back (the tests do); it is imported inside `to_xlsx`, only when a file is made."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

DATE_FORMAT = "yyyy-mm-dd hh:mm"


def to_xlsx(
    headers: list[str],
    rows: list[list[Any]],
    *,
    title: str,
    subtitle: str,
    figures: list[tuple[str, str]] | None = None,
) -> bytes:
    """The register; `figures` ((sheet title, period) first, then label/value rows) adds
    the KPI sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(headers)
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if cell.data_type == "f":  # user text starting with "=" is text, not a formula
                cell.data_type = "s"
    fill = PatternFill("solid", fgColor="2C4A6E")
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for col, header in enumerate(headers, 1):
        values = [r[col - 1] for r in rows[:200]]
        if any(isinstance(v, datetime) for v in values):
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = DATE_FORMAT
            width = 17
        else:
            longest = max([len(str(v)) for v in values if v is not None] + [8])
            width = min(40, max(10, longest + 2, len(header) // 2 + 2))
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "B2"  # the header row and the reference stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(rows) + 1)}"
    if figures:  # issue 14: the KPI figures of the register's period on a sheet of their own
        fs = wb.create_sheet(figures[0][0][:31])
        for label, value in figures:
            fs.append([label, value])
        fs.column_dimensions["A"].width = 42
        fs.column_dimensions["B"].width = 90
        fs["A1"].font = Font(bold=True)
    wb.properties.title = title
    wb.properties.subject = subtitle
    wb.properties.creator = "complaint desk"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, which is what makes Excel read Chinese correctly."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    for row in rows:
        w.writerow([_csv_value(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v  # a customer name is never run as a formula when Excel opens it
    return v
