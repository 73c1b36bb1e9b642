"""The sandbox page in a real browser: headless Chromium (Debian's chromium and
chromium-driver, which .ci/run installs) driven by Selenium through the whole procedure,
switching people as the procedure requires, and the README's screenshots read back.

SQLite only: the walk is about the page; the same requests on PostgreSQL are covered by
tests/test_sandbox.py and the end-to-end suite."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from bot.sandbox.browser import browser_problem
from bot.sandbox.server import Sandbox
from bot.sandbox.tour import SHOTS, START, run_walk

PROBLEM = browser_problem()
if PROBLEM and os.environ.get("CI") == "true":  # CI installs Chromium: never skip there
    raise RuntimeError(f"CI must run the browser test: {PROBLEM}")
pytestmark = pytest.mark.skipif(
    PROBLEM is not None, reason=f"no headless browser on this machine: {PROBLEM}"
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_complaint_walked_to_closure_in_the_browser(tmp_path: Path) -> None:
    with Sandbox(
        database_url=f"sqlite:///{tmp_path / 'sb.sqlite3'}", start=START, ticking=False
    ) as sb:
        walk = run_walk(sb, tmp_path)
        assert sb.bot is not None
        case = sb.bot.desk.find_case(walk.case_ref)
        kinds = [e.kind for e in case.events]
    seen = dict(walk.seen)
    statuses = [what for step, what in walk.seen if step == "status"]
    # every state of the procedure was shown on the card, in order
    order = [
        "Received",
        "Responsibility to decide",
        "Severity to classify",
        "Containment",
        "Corrective action",
        "Preventive action",
        "Awaiting management approval",
        "Approved — to send",
        "With the customer",
        "Verifying effectiveness",
        "Closed",
    ]
    shown = [next(label for label in order if label in s) for s in statuses]
    assert [label for i, label in enumerate(shown) if label not in shown[:i]] == order
    assert "⚠" in statuses[-7] and "overdue" in statuses[-7], "reworked after the deadline"
    # the steps were taken by the right people, and recorded
    assert case.status == "closed" and case.closure == "A"
    assert kinds == [
        "filed",
        "confirm_information",
        "decide_responsibility",
        "classify_severity",
        "record_containment",
        "submit_corrective_action",
        "submit_preventive_action",
        "approve_report",
        "send_to_customer",
        "record_customer_acceptance",
        "close_case",
        "comment",
    ]
    assert case.approved_by == "U0SBMGR" and case.closed_by == "U0SBTQ"
    # what the page showed along the way
    assert seen["note"].startswith("Local sandbox")
    assert seen["card"] == f"{walk.case_ref} · 苏州精密电子有限公司 <Suzhou Precision> & Co"
    assert seen["inline error"] == "The quantity must be a whole number greater than zero."
    assert "Only visible to you" in seen["ephemeral"]
    assert "Only Technical Quality" in seen["ephemeral"]
    assert "B — major" in seen["severity"]
    assert "Complaint digest — Wed 4 Mar" in seen["digest"]
    assert "Overdue" in seen["management"] and walk.case_ref in seen["management"]
    assert walk.case_ref in seen["home"]
    assert "ready for your approval" in seen["dm"]
    assert "Closed on criterion A" in seen["closed"]
    assert "归档 — archived" in seen["thread"]
    assert [m for step, m in walk.seen if step == "modal"] == [
        "New complaint",
        "Information complete",  # with the complaint's category (issue 14)
        "Responsibility",
        "Severity",
        "Containment",
        "Corrective action",
        "Preventive action",
        "Sent to customer",
        "Customer's answer",
        "Close case",
    ]
    # the README's screenshots
    assert sorted(p.name for p in walk.shots) == sorted(SHOTS)
    for shot in walk.shots:
        width, height = png_size(shot)
        assert width >= 300 and height >= 200, (shot.name, width, height)
