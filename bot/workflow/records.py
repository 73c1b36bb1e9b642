"""The desk's side of the records that leave Slack: which cases a register covers, the
documents kept for a case, and the requests for a report or a register by direct message
(made by the worker, bot/slack/documents.py)."""

from __future__ import annotations

import calendar as cal
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer, raiseload, selectinload

from bot.i18n import _, fmt_period
from bot.models import LONG_COLUMNS, Case, CaseDocument, CaseEvent, CaseFile, Report
from bot.workflow import effects
from bot.workflow.desk import DeskBase
from bot.workflow.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
FILTERS = ("customer", "product", "severity", "status", "unit")
MAX_REGISTER_DAYS = 3 * 366
REGISTER_BATCH = 200  # cases read at a time for a register
# the events a register's columns read (bot/records/register.py)
REGISTER_EVENTS = ("submit_corrective_action", "submit_preventive_action")


@dataclass(frozen=True)
class RegisterQuery:
    """Cases received from `start` to `end` (local dates, both included), filtered."""

    start: date
    end: date
    filters: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        extra = " ".join(f"{k}:{v}" for k, v in self.filters.items())
        return fmt_period(self.start, self.end) + (f" {extra}" if extra else "")

    def as_payload(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), **self.filters}

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> RegisterQuery:
        filters = {k: str(p[k]) for k in FILTERS if p.get(k)}
        return cls(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), filters)


def parse_register_query(text: str, today: date) -> RegisterQuery:
    """`[month|from..to] [customer:… product:… severity:A status:open|closed unit:…]`;
    no period means the current month."""
    start = end = None
    filters: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key.lower() in FILTERS and value:
            filters[key.lower()] = value[:100]
            continue
        m, r = _MONTH.match(word), _RANGE.match(word)
        try:
            if m and start is None:
                year, month = int(m.group(1)), int(m.group(2))
                start = date(year, month, 1)
                end = date(year, month, cal.monthrange(year, month)[1])
                continue
            if r and start is None:
                start, end = date.fromisoformat(r.group(1)), date.fromisoformat(r.group(2))
                continue
        except ValueError:
            pass
        raise InvalidInput(
            {
                "register": _(
                    "“{word}” is neither a period (`2026-03` or `2026-03-01..2026-03-31`) nor a "
                    "filter ({filters})",
                    word=word[:40],
                    filters=", ".join(f + ":" for f in FILTERS),
                )
            }
        )
    if start is None or end is None:
        start = today.replace(day=1)
        end = today.replace(day=cal.monthrange(today.year, today.month)[1])
    if end < start:
        raise InvalidInput({"register": _("The period ends before it starts.")})
    if (end - start).days > MAX_REGISTER_DAYS:
        raise InvalidInput({"register": _("Please ask for at most three years at a time.")})
    if filters.get("status") not in (None, "open", "closed"):
        raise InvalidInput({"register": _("status: is open or closed.")})
    return RegisterQuery(start, end, filters)


class RecordsDesk(DeskBase):
    # -- reading ------------------------------------------------------------------------
    def case_files(self, case_id: int) -> list[CaseFile]:
        with self.readers() as s:
            q = select(CaseFile).where(CaseFile.case_id == case_id).order_by(CaseFile.id)
            return list(s.scalars(q))

    def documents(self, case_id: int) -> list[CaseDocument]:
        with self.readers() as s:
            q = select(CaseDocument).where(CaseDocument.case_id == case_id)
            return list(s.scalars(q.order_by(CaseDocument.id)))

    def kept_for(self, outbox_id: int) -> list[CaseDocument]:
        """The documents an upload already made (a retry sends them, not new renders)."""
        with self.readers() as s:
            q = select(CaseDocument).where(CaseDocument.outbox_id == outbox_id)
            return list(s.scalars(q.order_by(CaseDocument.id)))

    def register_cases(self, query: RegisterQuery) -> list[Case]:
        """The cases a register covers, with what its columns need, oldest first."""
        return [c for batch in self.register_batches(query) for c in batch]

    def register_batches(
        self, query: RegisterQuery, size: int = REGISTER_BATCH
    ) -> Iterator[list[Case]]:
        """The register's cases, oldest first, `size` at a time, each batch read in its own
        session and with only what the register's columns need (the first corrective and
        preventive replies, the corrective reports; no texts). A month of the bench's
        100,000 cases is 2,500 cases: loaded whole with their events, they left the worker
        23 MB larger after a register (issue 10, 7(e))."""
        start = datetime.combine(query.start, time.min, tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(query.end + timedelta(days=1), time.min, tzinfo=self.tz)
        q = select(Case.id).where(Case.received_at >= start, Case.received_at < end.astimezone(UTC))
        f = query.filters
        if f.get("customer"):
            q = q.where(Case.customer.contains(f["customer"], autoescape=True))
        if f.get("product"):
            q = q.where(Case.product.contains(f["product"], autoescape=True))
        if f.get("severity"):
            q = q.where(Case.severity == f["severity"].upper())
        if f.get("status"):
            q = q.where(Case.is_open.is_(f["status"] == "open"))
        with self.readers() as s:
            ids = list(s.scalars(q.order_by(Case.received_at, Case.id)))
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            load = (
                select(Case)
                .where(Case.id.in_(chunk))
                .options(
                    *(defer(c, raiseload=True) for c in LONG_COLUMNS),
                    selectinload(Case.events.and_(CaseEvent.kind.in_(REGISTER_EVENTS))),
                    selectinload(Case.reports.and_(Report.kind == "corrective")),
                    raiseload(Case.lot_checks),
                )
            )
            with self.readers() as s:
                by_id = {c.id: c for c in s.scalars(load)}
            cases = [by_id[cid] for cid in chunk if cid in by_id]
            if f.get("unit"):  # a JSON list: filtered here, the same on both databases
                cases = [c for c in cases if f["unit"] in (c.units or [])]
            if cases:
                yield cases

    def files_of(self, case_ids: list[int]) -> dict[int, list[CaseFile]]:
        out: dict[int, list[CaseFile]] = {i: [] for i in case_ids}
        with self.readers() as s:
            for chunk in range(0, len(case_ids), 500):
                ids = case_ids[chunk : chunk + 500]
                q = select(CaseFile).where(CaseFile.case_id.in_(ids)).order_by(CaseFile.id)
                for f in s.scalars(q):
                    out[f.case_id].append(f)
        return out

    def export_records(self, case_id: int) -> dict[str, Any]:
        """Evidence and kept documents for the JSON export (documents without their bytes)."""
        return {
            "evidence": [
                {
                    "file_id": f.file_id,
                    "name": f.name,
                    "user": f.user_id,
                    "at": f.at.isoformat(),
                    "source": f.source,
                }
                for f in self.case_files(case_id)
            ],
            "documents": [
                {
                    "kind": d.kind,
                    "version": d.version,
                    "filename": d.filename,
                    "sha256": d.sha256,
                    "size": d.size,
                    "created_at": d.created_at.isoformat(),
                    "slack_file_id": d.slack_file_id,
                }
                for d in self.documents(case_id)
            ],
        }

    # -- writing ------------------------------------------------------------------------
    def keep_document(
        self,
        case_id: int,
        *,
        kind: str,
        version: str,
        filename: str,
        content: bytes,
        sha256: str,
        outbox_id: int | None,
        now: datetime,
    ) -> CaseDocument:
        """Keep a produced file; one per (outbox row, file name), so a retried delivery
        keeps the file it made the first time instead of a second copy."""
        with self.transaction() as s:
            if outbox_id is not None:
                found = s.scalar(
                    select(CaseDocument).where(
                        CaseDocument.outbox_id == outbox_id, CaseDocument.filename == filename
                    )
                )
                if found is not None:
                    return found
            doc = CaseDocument(
                case_id=case_id,
                kind=kind,
                version=version,
                filename=filename,
                sha256=sha256,
                size=len(content),
                content=content,
                created_at=now,
                outbox_id=outbox_id,
                note="",
            )
            s.add(doc)
            s.flush()
            return doc

    def document_uploaded(self, doc_id: int, slack_file_id: str) -> None:
        with self.transaction() as s:
            doc = s.get(CaseDocument, doc_id)
            if doc is not None:
                doc.slack_file_id = slack_file_id

    def request_report(self, case: Case, user_id: str, now: datetime) -> None:
        """The latest improvement report, made by the worker and sent to `user_id`."""
        with self.transaction() as s:
            effects.send_file(s, now, user=user_id, what="report", case_id=case.id)

    def request_register(self, query: RegisterQuery, user_id: str, now: datetime) -> None:
        with self.transaction() as s:
            effects.send_file(s, now, user=user_id, what="register", **query.as_payload())
