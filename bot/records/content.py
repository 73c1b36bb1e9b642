"""A case as the documents a person reads: the 8D improvement report and the full record.

Pure data, no file format: names are filled in (through `names`), times are local, coded
values are words. The renderers in `pdf.py` only lay it out, and the content hash in the
footer is taken over this data, so the same case gives the same hash however it is drawn.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.i18n import N_
from bot.models import Case, CaseEvent, CaseFile
from bot.records.doc import Doc
from bot.records.words import Words
from bot.workflow import steps as st
from bot.workflow.intake import RECEIVED_VIA
from bot.workflow.view import EVENT_TITLES, report_version

Names = Callable[[str], str]
TQ_STEPS = ("confirm_information", "decide_responsibility", "classify_severity")


class Writer:
    """Shared helpers: local time, names, coded values."""

    def __init__(self, case: Case, names: Names, tz: tzinfo, words: Words) -> None:
        self.case, self.names, self.tz, self.w = case, names, tz, words

    def when(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if value else ""

    def who(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        if user_id == "system":
            return self.w.text(N_("complaint desk"))
        return self.names(user_id)

    def code(self, kind: str, value: str | None) -> str:
        english = {
            "category": st.CAUSE_CATEGORIES,
            "disposition": st.DISPOSITIONS,
            "documents": st.DOCUMENTS,
            "via": {**RECEIVED_VIA, **st.SEND_METHODS},
            "closure": st.CLOSURE,
            "severity": st.SEVERITIES,
        }[kind]
        return self.w.code(kind, value, english)


def improvement_report(
    case: Case, files: Sequence[CaseFile], names: Names, tz: tzinfo, words: Words
) -> Doc:
    """The written improvement report (书面改善对策报告) in the 8D structure."""
    x, w = Writer(case, names, tz, words), words
    version = report_version(case)
    doc = Doc(w("title"), case.ref, version, words)
    b = doc.blocks
    b.append(("kv", _header(x, version)))

    tq = _unique(e.actor for e in case.events if e.kind in TQ_STEPS)
    owners = _unique(r.data.get("owner") for r in case.reports if r.kind == "corrective")
    authors = _unique(r.author for r in case.reports)
    b.append(("h", w("d1")))
    b.append(
        (
            "kv",
            [
                (w("tq"), ", ".join(x.who(u) for u in tq) or w("tq")),
                (w("units"), ", ".join(u.capitalize() for u in case.units or []) or w("none")),
                (w("owners"), ", ".join(x.who(u) for u in _unique([*owners, *authors]))),
                (w("reporter"), x.who(case.reporter_id)),
            ],
        )
    )

    b.append(("h", w("d2")))
    b.append(
        (
            "kv",
            [
                (w("description"), case.description),
                (w("via"), x.code("via", case.received_via)),
            ],
        )
    )
    b.append(("table", [w("evidence"), w("who"), w("when"), w("from")], _evidence(x, files)))

    contain = case.latest_report("containment")
    b.append(("h", w("d3")))
    if contain is None:
        b.append(("p", w("pending")))
    else:
        rows = [
            [
                w(label),
                str(contain.data.get(key, {}).get("quantity", 0)),
                x.code("disposition", contain.data.get(key, {}).get("disposition")),
            ]
            for key, label in (
                ("warehouse", "warehouse"),
                ("transit", "transit"),
                ("customer", "at_customer"),
            )
        ]
        b.append(("table", [w("where"), w("quantity"), w("disposition")], rows))
        b.append(("kv", [(w("actions"), str(contain.data.get("actions", "")))]))

    ca = case.latest_report("corrective")
    b.append(("h", w("d4")))
    if ca is None:
        b.append(("p", w("pending")))
    else:
        whys = ca.data.get("why") or []
        b.append(
            (
                "kv",
                [
                    (w("category"), x.code("category", ca.data.get("category"))),
                    (w("why"), "\n".join(f"{i}. {t}" for i, t in enumerate(whys, 1))),
                    (w("escape"), str(ca.data.get("escape") or "") or w("pending")),
                ],
            )
        )
    b.append(("h", w("d56")))
    b.append(
        (
            "table",
            [w("version"), w("actions"), w("owner"), w("planned"), w("status")],
            _corrective_rows(x, case),
        )
    )
    if ca is not None:
        b.append(
            ("kv", [(w("lot_disposition"), x.code("disposition", ca.data.get("disposition")))])
        )

    pa = case.latest_report("preventive")
    b.append(("h", w("d7")))
    if pa is None:
        b.append(("p", w("pending")))
    else:
        measures = pa.data.get("measures") or {}
        b.append(
            (
                "table",
                [w("direction"), w("measure")],
                [[x.code("category", k), str(v)] for k, v in measures.items()],
            )
        )
        b.append(
            (
                "kv",
                [
                    (
                        w("documents"),
                        ", ".join(x.code("documents", d) for d in pa.data.get("documents") or []),
                    ),
                    (w("revisions"), str(pa.data.get("revisions") or "") or w("pending")),
                ],
            )
        )

    b.append(("h", w("d8")))
    b.append(("kv", _approval(x, case)))
    history = _history(x, case)
    if history:
        b.append(("table", [w("when"), w("what"), w("who"), w("details")], history))
    return doc


def _header(x: Writer, version: str) -> list[tuple[str, str]]:
    c, w = x.case, x.w
    due = " / ".join(
        f"{w(k)} {x.when(v)}"
        for k, v in (("corrective", c.ca_due_at), ("preventive", c.pa_due_at))
        if v
    )
    replied = " / ".join(
        f"{w(k)} {x.when(v)}"
        for k, v in (
            ("corrective", c.ca_done_at),
            ("preventive", c.pa_done_at),
            ("sent", c.sent_at),
        )
        if v
    )
    return [
        (w("ref"), c.ref),
        (w("version"), version),
        (w("customer"), c.customer + (f" ({c.customer_contact})" if c.customer_contact else "")),
        # issue 12(3e): a service complaint has no product, lot or quantity
        *(
            [(w("product"), w("service"))]
            if c.complaint_kind == "service"
            else [(w("product"), c.product), (w("lots"), c.lots), (w("quantity"), str(c.quantity))]
        ),
        # issue 12(3d): who speaks to the customer, by when
        *(
            [(w("contact_window"), f"{x.who(c.contact_window)} {c.contact_by or ''}".strip())]
            if c.contact_window
            else []
        ),
        (w("severity"), x.code("severity", c.severity)),
        (w("received"), x.when(c.received_at)),
        (w("due"), due or (x.w("pending") if c.is_open else "")),
        (w("replied"), replied or w("pending")),
        (w("times_in"), str(x.tz)),
    ]


def _evidence(x: Writer, files: Sequence[CaseFile]) -> list[list[str]]:
    if files:
        return [[f.name or f.file_id, x.who(f.user_id), x.when(f.at), f.source] for f in files]
    # cases filed before evidence had its own table keep it on the case row
    return [
        [
            str(e.get("name") or e.get("id") or ""),
            x.who(x.case.reporter_id),
            x.when(x.case.received_at),
            "intake",
        ]
        for e in x.case.evidence or []
    ] or [[x.w("none"), "", "", ""]]


def _corrective_rows(x: Writer, case: Case) -> list[list[str]]:
    versions = [r for r in case.reports if r.kind == "corrective"]
    if not versions:
        return [[x.w("pending"), "", "", "", ""]]
    rows = []
    for r in versions:
        status = _action_status(x, case) if r is versions[-1] else x.w("st_superseded")
        rows.append(
            [
                f"v{r.version}",
                str(r.data.get("actions", "")),
                x.who(r.data.get("owner")),
                str(r.data.get("planned") or ""),
                status,
            ]
        )
    return rows


def _action_status(x: Writer, case: Case) -> str:
    if case.closure in ("A", "B"):
        return x.w("st_verified")
    if case.accepted_at is not None:
        return x.w("st_verifying")
    if case.sent_at is not None:
        return x.w("st_customer")
    return x.w("st_planned")


def _approval(x: Writer, case: Case) -> list[tuple[str, str]]:
    w = x.w
    approval = _last(case.events, "approve_report")
    if case.approved_by is None or approval is None:
        return [(w("approver"), w("not_approved"))]
    d = approval.data or {}
    what = (
        f"{w('corrective')} v{d.get('corrective_version')}, "
        f"{w('preventive')} v{d.get('preventive_version')}"
    )
    out = [
        (w("approver"), x.who(case.approved_by)),
        (w("approved_at"), f"{x.when(case.approved_at)} ({x.tz})"),
        (w("approved_what"), what),
    ]
    if d.get("disposition"):  # issue 12(3f): what the approval covered
        out.append((w("lot_disposition"), x.code("disposition", d["disposition"])))
    if d.get("note"):
        out.append((w("details"), str(d["note"])))
    return out


def _history(x: Writer, case: Case) -> list[list[str]]:
    """Approvals, rejections, sending and the customer's objections, oldest first."""
    w, rows = x.w, []
    for e in case.events:
        d = e.data or {}
        if e.kind == "approve_report":
            v = f"{d.get('corrective_version')}.{d.get('preventive_version')}"
            rows.append(
                [
                    x.when(e.at),
                    f"{w('approver')} ({w('version')} {v})",
                    x.who(e.actor),
                    str(d.get("note") or ""),
                ]
            )
        elif e.kind == "reject_report":
            rows.append([x.when(e.at), w("rejected"), x.who(e.actor), str(d.get("reason", ""))])
        elif e.kind == "send_to_customer":
            how = x.code("via", d.get("method")) if d.get("method") else ""
            detail = ", ".join(
                p
                for p in (
                    f"{w('version')} {d.get('version', '')}",
                    how,
                    str(d.get("sent_on") or ""),
                    str(d.get("note") or ""),
                )
                if p
            )
            rows.append([x.when(e.at), w("sent"), x.who(e.actor), detail])
        elif e.kind == "record_customer_acceptance" and not d.get("accepted"):
            rows.append([x.when(e.at), w("objection"), x.who(e.actor), str(d.get("note", ""))])
        elif e.kind == "reopen_case":
            rows.append([x.when(e.at), w("reopened"), x.who(e.actor), str(d.get("reason", ""))])
    return rows


def _last(events: Sequence[CaseEvent], kind: str) -> CaseEvent | None:
    found = [e for e in events if e.kind == kind]
    return found[-1] if found else None


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# --- the whole record, for the archive ----------------------------------------------------


def full_record(
    case: Case, files: Sequence[CaseFile], names: Names, tz: tzinfo, words: Words
) -> Doc:
    """Every event of the case in order, with its lot checks and evidence: the timeline as
    a readable document, archived at closure next to the JSON export."""
    x, w = Writer(case, names, tz, words), words
    doc = Doc(w("record_title"), case.ref, report_version(case), words)
    b = doc.blocks
    b.append(("kv", _header(x, doc.version)))
    if case.closure:
        b.append(
            (
                "kv",
                [
                    (
                        w("closure"),
                        f"{x.code('closure', case.closure)}, "
                        f"{x.when(case.closed_at)}, {x.who(case.closed_by)}",
                    )
                ],
            )
        )
    b.append(("h", w("timeline")))
    b.append(
        (
            "table",
            [w("when"), w("who"), w("what"), w("details")],
            [
                [x.when(e.at), x.who(e.actor), EVENT_TITLES.get(e.kind, e.kind), _details(x, e)]
                for e in case.events
            ],
        )
    )
    b.append(("h", w("lot_checks")))
    b.append(
        (
            "table",
            [w("when"), w("lots"), w("quantity"), w("status"), w("who")],
            [
                [x.when(lc.at), lc.lot, str(lc.quantity_inspected), lc.result, x.who(lc.by)]
                for lc in case.lot_checks
            ]
            or [[w("none"), "", "", "", ""]],
        )
    )
    b.append(("h", w("evidence")))
    b.append(("table", [w("name"), w("who"), w("when"), w("from")], _evidence(x, files)))
    return doc


def _details(x: Writer, e: CaseEvent) -> str:
    """An event's data as short "key: value" lines; user ids become names."""
    parts = []
    for k, v in (e.data or {}).items():
        if k in ("from", "to", "request", "signature", "ts") or v in (None, "", [], {}):
            continue
        if k == "owner" and isinstance(v, str):
            v = x.who(v)
        if isinstance(v, dict | list):
            v = json.dumps(v, ensure_ascii=False)
        parts.append(f"{k}: {v}")
    return "\n".join(parts)[:2000]
