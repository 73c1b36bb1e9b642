"""Records that leave Slack (issue 13), end to end: the improvement report uploaded into the
thread at approval, the archive at closure, `/complaint report` and `/complaint register` by
direct message, evidence recorded, and every file read back (pypdf, openpyxl)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from datetime import datetime

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from bot.models import CaseDocument, CaseFile
from tests.conftest import COMPLAINTS, MGR, MKT, PROD, TQ, Running
from tests.procedure import case_now, events, take, walk_to_approval
from tests.test_intake import file_complaint

CUSTOMER = "苏州精密电子有限公司"
WHY = "钢网磨损 — stencil worn after 25k prints"
CA = {
    "category": "machine",
    "why": f"Bridges on U3\n{WHY}\nNo stencil life limit",
    "escape": "AOI program did not cover U3",
    "disposition": "sort",
    "actions": "Replace stencil; sort lots L0211-L0212",
    "owner": PROD,
    "planned": "2026-03-20",
}
PA = {
    "m_machine": "Stencil life counter with hard stop at 20k prints",
    "documents": ["control_plan", "work_instruction"],
    "revisions": "CP-7731 rev D, WI-023 rev C",
}
PHOTO = {"id": "F0PHOTO01", "name": "桥接照片.jpg", "url_private": "https://x/F0PHOTO01"}


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def dm_channel(user: str) -> str:
    return "D" + user[1:]  # the fake Slack's DM ids


def _to_approval(r: Running, **intake: object):
    case = file_complaint(r, customer=CUSTOMER, evidence=[PHOTO], **intake)
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="Our SMT line",
        containment="Hold lots L0211-L0212",
        corrective=CA,
        preventive=PA,
    )
    return case_now(r, case.id)


def test_report_uploaded_once_at_approval_then_the_archive_at_closure(running: Running) -> None:
    r = running
    r.fake.set_user(MGR, real_name="王建国")
    r.fake.set_user(PROD, real_name="Zhang Wei")
    case = _to_approval(r)
    # a photo posted in the case thread is evidence too
    reply = r.client.event(
        {
            "type": "message",
            "subtype": "file_share",
            "channel": COMPLAINTS,
            "user": PROD,
            "text": "The stencil, under the microscope",
            "ts": "1772500000.000100",
            "thread_ts": case.card_ts,
            "files": [{"id": "F0STENCIL", "name": "stencil.png"}],
        }
    )
    assert reply.status == 200
    r.settle()
    # the first completion fails: the outbox retries, and the file is shared once
    r.fake.fail_next(1, status=500, method="files.completeUploadExternal")
    take(r, MGR, case.id, "approve_report")
    in_thread = [f for f in r.fake.uploaded(COMPLAINTS) if f["thread_ts"] == case.card_ts]
    assert [f["name"] for f in in_thread] == ["CC-2026-0001-improvement-report-v1.1.pdf"]
    assert len(r.fake.calls_to("files.completeUploadExternal")) == 1
    report = in_thread[0]["content"]
    text = pdf_text(report)
    for expected in (CUSTOMER, WHY, "王建国", "Zhang Wei", "AOI program did not cover U3"):
        assert expected in text, expected
    assert "D4 Root cause" in text and "D8 Approval" in text and "U0MGR1" not in text
    assert "桥接照片.jpg" in text and "stencil.png" in text  # evidence, by name
    # made in a child process: the worker does not keep the PDF libraries in its memory
    assert "fpdf" not in sys.modules
    with r.desk.sessions() as s:
        kept = s.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id)).all()
        assert [(d.kind, d.version) for d in kept] == [("report", "1.1")]
        assert kept[0].content == report and kept[0].sha256 == hashlib.sha256(report).hexdigest()
        assert kept[0].slack_file_id == in_thread[0]["id"]

    # "Sent to customer" records which version went out, how and when
    take(r, TQ, case.id, "send_to_customer", {"method": "portal", "sent_on": "2026-03-03"})
    sent = events(r, case.id)[-1]
    assert sent.kind == "send_to_customer"
    assert {k: sent.data[k] for k in ("version", "method", "sent_on")} == {
        "version": "1.1",
        "method": "portal",
        "sent_on": "2026-03-03",
    }
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes"})
    take(
        r,
        TQ,
        case.id,
        "close_case",
        {"criterion": "A", "evidence": "SPI data of 3 lots", "no_negative_impact": ["yes"]},
    )

    archive = [f for f in r.fake.uploaded(COMPLAINTS) if f["thread_ts"] == case.card_ts][1:]
    assert [f["name"] for f in archive] == [
        "CC-2026-0001-improvement-report-v1.1.pdf",
        "CC-2026-0001-record.pdf",
        "CC-2026-0001-record.json",
    ]
    final = pdf_text(archive[0]["content"])
    assert "Customer portal" in final and "Verified effective" in final
    record = pdf_text(archive[1]["content"])
    assert "The stencil, under the microscope" in record and "closed and archived" in record
    exported = json.loads(archive[2]["content"])
    assert exported["case"]["ref"] == "CC-2026-0001"
    assert [(e["file_id"], e["user"], e["source"]) for e in exported["evidence"]] == [
        ("F0PHOTO01", MKT, "intake"),
        ("F0STENCIL", PROD, "thread"),
    ]
    with r.desk.sessions() as s:
        kinds = s.scalars(
            select(CaseDocument.kind).where(CaseDocument.case_id == case.id).order_by("id")
        ).all()
    assert kinds == ["report", "report", "record", "record_json"]


def test_thread_file_recorded_once_with_who_and_when(running: Running) -> None:
    r = running
    case = file_complaint(r, evidence=[PHOTO])
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": COMPLAINTS,
        "user": TQ,
        "text": "",
        "ts": "1772500000.000200",
        "thread_ts": case.card_ts,
        "files": [{"id": "F0XRAY", "name": "x-ray.png"}, {"id": PHOTO["id"], "name": "again"}],
    }
    r.client.event(event)
    r.client.event({**event, "ts": "1772500000.000300"})  # the same files shared again
    r.settle()
    with r.desk.sessions() as s:
        files = s.scalars(select(CaseFile).where(CaseFile.case_id == case.id).order_by("id"))
        got = [(f.file_id, f.name, f.user_id, f.source, f.at) for f in files]
    assert got == [
        ("F0PHOTO01", "桥接照片.jpg", MKT, "intake", case.received_at),
        ("F0XRAY", "x-ray.png", TQ, "thread", r.clock.now),
    ]


def test_report_and_register_by_direct_message(running: Running) -> None:
    r = running
    case = _to_approval(r)
    other = file_complaint(r, customer="=HYPERLINK(1)")  # no report yet
    reply = r.client.command(MKT, f"report {other.ref}")
    assert "no improvement report yet" in reply.body
    reply = r.client.command(MKT, f"report {case.ref}")
    assert reply.status == 200 and "on its way" in reply.body
    r.settle()
    [dm] = r.fake.uploaded(dm_channel(MKT))
    assert dm["name"] == "CC-2026-0001-improvement-report-v1.1.pdf"
    assert CUSTOMER in pdf_text(dm["content"])

    reply = r.client.command(MKT, "register 2026-03")
    assert "Only Technical Quality or Management" in reply.body
    reply = r.client.command(TQ, "register 2026-03 nonsense")
    assert "neither a period" in reply.body
    reply = r.client.command(TQ, "register 2026-03")
    assert "on its way" in reply.body
    r.settle()
    xlsx, csv_file = r.fake.uploaded(dm_channel(TQ))
    assert [xlsx["name"], csv_file["name"]] == [
        "complaint-register-2026-03-01-2026-03-31.xlsx",
        "complaint-register-2026-03-01-2026-03-31.csv",
    ]
    ws = load_workbook(io.BytesIO(xlsx["content"])).active
    assert [c.value for c in ws["A"]][1:] == [case.ref, other.ref]
    assert ws["C3"].value == "=HYPERLINK(1)" and ws["C3"].data_type == "s"  # text, not a formula
    assert ws["T2"].value == "桥接照片.jpg"
    raw = csv_file["content"]
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1][2] == CUSTOMER and rows[2][2] == "'=HYPERLINK(1)"


def test_register_filters_reach_the_file(running: Running) -> None:
    r = running
    case = _to_approval(r)
    file_complaint(r, customer="Other Ltd")
    r.client.command(TQ, "register 2026-03-01..2026-03-31 unit:production status:open")
    r.client.command(MGR, "register 2026-02")
    r.settle()
    [xlsx, _csv] = r.fake.uploaded(dm_channel(TQ))
    ws = load_workbook(io.BytesIO(xlsx["content"])).active
    assert [c.value for c in ws["A"]] == ["Reference", case.ref]
    [empty, _csv] = r.fake.uploaded(dm_channel(MGR))
    assert load_workbook(io.BytesIO(empty["content"])).active.max_row == 1


def test_register_cells_are_typed_in_local_time(running: Running) -> None:
    r = running
    case = _to_approval(r)
    take(r, MGR, case.id, "approve_report")
    r.client.command(TQ, "register")  # this month (the clock says March 2026)
    r.settle()
    xlsx = r.fake.uploaded(dm_channel(TQ))[0]
    wb = load_workbook(io.BytesIO(xlsx["content"]))
    ws = wb.active
    head = [c.value for c in ws[1]]
    row = dict(zip(head, [c.value for c in ws[2]], strict=True))
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:T2"
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("2C4A6E")
    # 10:00 in Shanghai, as Excel shows it (the clock is 02:00 UTC)
    assert row["Received on"] == datetime(2026, 3, 3, 10, 0)
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert row["Quantity"] == 1200 and isinstance(row["Quantity"], int)
    assert row["Working days to corrective reply"] == 0.0
    assert row["Corrective on time (≤ 1)"] is True and row["Preventive on time (≤ 3)"] is True
    assert row["Cause type"] == "Machine (机)" and row["Status"] == "Approved — to send"
    assert row["Closed on"] is None and row["Times actions were redone"] == 0
    assert row["Responsible units"] == "production"
