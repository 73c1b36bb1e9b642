"""Make the files: a case's improvement report, its archive, a register. Used by the worker
(bot/slack/documents.py) and by the CLI; never by the web process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from blocks.stats import chart_spec, figure_lines
from bot.i18n import _, use_locale
from bot.records import content, isolated, pdf, register, sheets
from bot.records.charts import render as draw_charts
from bot.records.words import REGISTER_TITLE, Words
from bot.workflow.records import RegisterQuery
from bot.workflow.stats import Figures, Period
from bot.workflow.taxonomy import category_names

Names = Callable[[str], str]


@dataclass(frozen=True)
class File:
    filename: str
    content: bytes
    kind: str  # report | record | record_json | register
    title: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class Maker:
    def __init__(self, desk: Any, names: Names) -> None:
        self.desk = desk
        self.names = names
        s = desk.settings
        self.words = Words(s.language, s.report_bilingual)
        self.font = s.report_font
        isolated.configure(s.records_timeout_seconds, s.records_idle_seconds)

    def report(self, case_id: int) -> File:
        """The improvement report (8D) as the case stands now."""
        case = self.desk.get_case(case_id)
        doc = content.improvement_report(
            case, self.desk.case_files(case.id), self.names, self.desk.tz, self.words
        )
        return File(
            f"{case.ref}-improvement-report-v{doc.version}.pdf",
            isolated.run(pdf.render, doc, self.font),
            "report",
            f"{doc.title} {case.ref} v{doc.version}",
        )

    def archive(self, case_id: int) -> list[File]:
        """Records control at closure: the final report, the whole record as a readable
        PDF (timeline included) and as JSON."""
        case = self.desk.get_case(case_id)
        record = content.full_record(
            case, self.desk.case_files(case.id), self.names, self.desk.tz, self.words
        )
        exported = self.desk.export_case(case.ref)
        raw = json.dumps(exported, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        return [
            self.report(case_id),
            File(
                f"{case.ref}-record.pdf",
                isolated.run(pdf.render, record, self.font),
                "record",
                record.title,
            ),
            File(
                f"{case.ref}-record.json",
                raw,
                "record_json",
                _("{ref} complete record (JSON)", ref=case.ref),
            ),
        ]

    # -- issue 14: the KPI figures -------------------------------------------------------
    def figures(self, period: Period) -> Figures:
        return self.desk.kpis(period, self.desk.now())

    def figure_rows(self, period: Period) -> list[tuple[str, str]]:
        """The figures as (label, value) rows in the team's language, headed by the sheet's
        title and the period (flat text: the register's filters do not apply to them)."""
        with use_locale(self.words.language):
            f = self.figures(period)
            head = (_("Figures"), _("Complaint figures {period}", period=period.describe()))
            return [head, *figure_lines(f, category_names(self.desk.settings.categories))]

    def charts(self, f: Figures) -> File:
        """One PNG of the charts, drawn in the records helper process."""
        with use_locale(self.words.language):
            spec = chart_spec(f, category_names(self.desk.settings.categories))
        return File(
            f"complaint-figures-{f.period.start.isoformat()}-{f.period.end.isoformat()}.png",
            isolated.run(draw_charts, spec, self.font),
            "chart",
            spec["title"],
        )

    def register(self, query: RegisterQuery) -> list[File]:
        """The register as XLSX, and as CSV (UTF-8 with BOM) for those who want it."""
        heads = register.headers(self.words)
        rows: list[list[Any]] = []
        for cases in self.desk.register_batches(query):  # a batch's objects go after it
            files = self.desk.files_of([c.id for c in cases])
            rows += register.rows(cases, files, self.desk.calendar, self.desk.tz, self.words)
        stem = f"complaint-register-{query.start.isoformat()}-{query.end.isoformat()}"
        title = self.words.text(REGISTER_TITLE)
        figures = self.figure_rows(Period(query.start, query.end))  # issue 14: the KPI sheet
        return [
            File(
                f"{stem}.xlsx",
                isolated.run(
                    sheets.to_xlsx,
                    heads,
                    rows,
                    title=title,
                    subtitle=query.describe(),
                    figures=figures,
                ),
                "register",
                f"{title} {query.describe()}",
            ),
            File(f"{stem}.csv", sheets.to_csv(heads, rows), "register", f"{title} (CSV)"),
        ]
