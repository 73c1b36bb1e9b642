"""A complaint walked from `/complaint new` to 结案 (closed) through the sandbox page, in
headless Chromium (bot/sandbox/browser.py), checking what the page shows at each step and
saving the README's screenshots. The browser test runs it; so does
`complaint-bot sandbox --screenshots docs/`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox.browser import BrowserMissing, Page, TourFailed, browser_problem, make_driver
from bot.sandbox.server import COMPLAINTS, MANAGEMENT, PEOPLE, Sandbox

# Tuesday 3 March 2026, 10:00 in Shanghai: a working day, so deadlines read naturally
START = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
MKT, TQ, PROD, MGR = (p[0] for p in PEOPLE)
SHOTS = ("card.png", "modal.png", "thread.png", "home.png")


@dataclass
class Walk:
    """What the walk saw, step by step, for the test to assert on."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    case_ref: str = ""


def walk(folder: Path, *, database_url: str | None = None) -> list[Path]:
    """Run the walk in a fresh sandbox and save the screenshots into `folder`."""
    problem = browser_problem()
    if problem:
        raise BrowserMissing(f"The browser walk needs Chromium: {problem}")
    folder.mkdir(parents=True, exist_ok=True)
    with Sandbox(database_url=database_url, start=START, ticking=False) as sb:
        return run_walk(sb, folder).shots


def run_walk(sb: Sandbox, folder: Path) -> Walk:
    work = Path(tempfile.mkdtemp(prefix="sandbox-browser-"))
    driver = make_driver(work / "profile")
    try:
        return _steps(Page(driver, sb.url, folder), sb, work)
    finally:
        driver.quit()
        shutil.rmtree(work, ignore_errors=True)


def _steps(p: Page, sb: Sandbox, work: Path) -> Walk:
    w = Walk()

    def saw(step: str, what: str) -> None:
        w.seen.append((step, what))

    def status_becomes(ref: str, label: str) -> None:
        p.until(f"status {label!r} on {ref}", lambda: label in p.field(ref, "Status"))
        saw("status", p.field(ref, "Status"))

    def modal(title: str) -> None:
        p.until(f"the {title!r} modal", lambda: p.modal_title() == title)
        saw("modal", title)

    def modal_closes() -> None:
        p.until("the modal closing", lambda: p.modal_title() == "")

    # 1. Marketing records the complaint (客诉单) through the modal
    p.open(MKT)
    saw("note", p.css("#sandbox-note").text)
    p.channel(COMPLAINTS)
    p.type_in_channel("/complaint new")
    modal("New complaint")
    photo = work / "defect-photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 sandbox evidence")
    p.fill(
        {
            "customer": "苏州精密电子有限公司 <Suzhou Precision> & Co",
            "contact": "李工 Li Gong, +86 512 0000 0000",
            "product": "PCB-A7 控制板",
            "lots": "L0211, L0212",
            "quantity": "1200",
            "via": "email",
            "description": "Solder bridges on U3 found at incoming inspection; 37 of 200 "
            "sampled boards fail. 焊锡桥接。",
            "evidence": [photo],
        }
    )
    w.shots.append(p.shot("modal.png", p.css("#modal")))
    p.fill({"quantity": "about 1200"})
    p.submit()
    err = p.until(
        "the inline error on the quantity",
        lambda: p.css('.bk-input[data-block-id="quantity"] .bk-error').text,
    )
    saw("inline error", err)
    p.fill({"quantity": "1200"})
    p.submit()
    modal_closes()
    ref = p.until("the case card", lambda: p.css("#messages .msg .bk-header").text.split(" ·")[0])
    w.case_ref = ref
    saw("card", p.css(".bk-header", p.card(ref)).text)
    status_becomes(ref, "Received")
    if p.buttons(ref) != ["step:confirm_information", "step:request_information"]:
        raise TourFailed(f"buttons on a new card: {p.buttons(ref)}")

    # the wrong person gets a polite refusal, only visible to them
    p.press(ref, "confirm_information")
    refusal = p.until("an ephemeral refusal", lambda: p.css("#messages .msg.ephemeral").text)
    saw("ephemeral", refusal)
    if "Only Technical Quality" not in refusal:
        raise TourFailed(f"refusal says {refusal!r}")

    # 2. Technical Quality confirms the information and decides responsibility (责任归属)
    p.as_person(TQ)
    p.press(ref, "confirm_information")
    modal("Information complete")  # and the complaint's category (issue 14)
    p.fill({"category": "function"})
    p.submit()
    modal_closes()
    status_becomes(ref, "Responsibility to decide")
    p.press(ref, "decide_responsibility")
    modal("Responsibility")
    p.fill(
        {
            "party": "ours",
            "units": ["production"],
            "reason": "Samples show solder bridges from a worn stencil: our process.",
        }
    )
    p.submit()
    modal_closes()
    status_becomes(ref, "Severity to classify")

    # 4. severity (客诉等级), agreed with Marketing
    p.press(ref, "classify_severity")
    modal("Severity")
    p.fill({"severity": "B", "note": "Affects normal use; agreed with Mei (Marketing)."})
    p.submit()
    modal_closes()
    status_becomes(ref, "Containment")
    saw("severity", p.field(ref, "Severity"))

    # working days pass: the morning digest, then the missed corrective-action deadline
    # (1 working day: Wednesday 17:30) is announced in the thread and to management
    p.css("#clock-day").click()
    p.until("Wednesday on the clock", lambda: p.css("#clock-now").text.startswith("Wed 04 Mar"))
    p.channel(MANAGEMENT)
    digest = p.until("the digest", lambda: p.css("#messages .msg").text)
    saw("digest", digest)
    p.css("#clock-day").click()
    p.until("Thursday on the clock", lambda: p.css("#clock-now").text.startswith("Thu 05 Mar"))
    overdue = p.until(
        "the overdue alert",
        lambda: "Overdue" in p.all("#messages .msg")[-1].text and p.all("#messages .msg")[-1].text,
    )
    saw("management", overdue)
    p.channel(COMPLAINTS)
    p.until("the overdue notice in the thread", lambda: "Overdue" in _thread_text(sb, ref))
    status_becomes(ref, "Containment")

    # the reporter's Home tab lists the case among theirs, overdue
    p.as_person(MKT)
    p.channel("home")
    p.until("the Home tab", lambda: p.css("#home").text.count(ref) == 2)
    saw("home", p.css("#home").text)
    p.d.set_window_size(1280, 560)  # the whole page, without a screenful of white
    w.shots.append(p.shot("home.png"))
    p.d.set_window_size(1400, 1000)

    # 4. the responsible unit (责任单位): containment, corrective and preventive actions
    p.as_person(PROD)
    p.channel(COMPLAINTS)
    p.press(ref, "record_containment")
    modal("Containment")
    p.fill(
        {
            "warehouse_qty": "800",
            "warehouse_disposition": "sort",
            "transit_qty": "200",
            "transit_disposition": "return",
            "customer_qty": "1200",
            "customer_disposition": "sort",
            "actions": "Hold all stock of lots L0211-L0212; 100% AOI on U3.",
        }
    )
    p.submit()
    modal_closes()
    status_becomes(ref, "Corrective action")
    p.press(ref, "submit_corrective_action")
    modal("Corrective action")
    p.fill(
        {
            "category": "machine",
            "why": "Bridges on U3\nStencil worn\nNo stencil life limit",
            "disposition": "sort",
            "actions": "Replace the stencil; sort lots L0211-L0212.",
            "owner": PROD,
            "planned": "2026-03-20",
        }
    )
    p.submit()
    modal_closes()
    status_becomes(ref, "Preventive action")
    p.press(ref, "submit_preventive_action")
    modal("Preventive action")
    p.fill(
        {
            "m_machine": "Stencil life counter with a hard stop at 20k prints.",
            "m_method": "SPI check of the U3 area added to the control plan.",
            "documents": ["control_plan", "work_instruction"],
        }
    )
    p.submit()
    modal_closes()
    status_becomes(ref, "Awaiting management approval")

    # 5. management reviews and approves (审核); the manager also got a DM
    p.as_person(MGR)
    p.channel(sb.slack.dm_of(MGR))
    p.until("the approval request in the manager's DM", lambda: ref in p.css("#messages").text)
    saw("dm", p.all("#messages .msg")[-1].text)
    p.channel(COMPLAINTS)
    w.shots.append(p.shot("card.png", p.card(ref)))
    p.press(ref, "approve_report", confirm="Approve the report?")
    status_becomes(ref, "Approved — to send")

    # 5-6. TQ sends it to the customer (提交客户确认); Marketing records the answer
    p.as_person(TQ)
    p.press(ref, "send_to_customer")
    modal("Sent to customer")  # which report version went out, how and when
    p.fill({"method": "email", "note": "发给客户质量部 Zhang 工。"})
    p.submit()
    modal_closes()
    status_becomes(ref, "With the customer")
    p.as_person(MKT)
    p.press(ref, "record_customer_acceptance")
    modal("Customer's answer")
    p.fill({"accepted": "yes", "note": "客户确认接受。"})
    p.submit()
    modal_closes()
    status_becomes(ref, "Verifying effectiveness")

    # 7-8. TQ verifies the effect and closes the case (结案) on criterion A
    p.as_person(TQ)
    p.press(ref, "close_case")
    modal("Close case")
    p.fill(
        {
            "criterion": "A",
            "evidence": "Two weeks of SPI data: no bridges on U3; the customer confirmed.",
            "no_negative_impact": ["yes"],
        }
    )
    p.submit()
    modal_closes()
    status_becomes(ref, "Closed")
    closed = p.card(ref).text
    saw("closed", closed)
    if "Closed on criterion" not in closed or p.buttons(ref) != ["step:reopen_case"]:
        raise TourFailed(f"closed card shows {closed!r} with {p.buttons(ref)}")

    # the thread holds every step; a person's reply goes into the record too
    p.click("the replies link", lambda: p.css(".replies-link", p.card(ref)))
    p.until("the thread", lambda: p.css("#thread").get_attribute("hidden") is None)
    box = p.css("#thread-input")
    box.send_keys("归档 — archived with the improvement report.")
    p.css("#thread-composer button").click()
    p.until("the reply in the thread", lambda: "归档" in p.css("#thread-messages").text)
    saw("thread", p.css("#thread-messages").text)
    p.d.execute_script(
        "const t = arguments[0]; t.scrollTop = t.scrollHeight;", p.css("#thread-messages")
    )
    w.shots.append(p.shot("thread.png", p.css("#thread")))
    return w


def _thread_text(sb: Sandbox, ref: str) -> str:
    """The thread under the card of `ref`, as stored by the emulator."""
    for msg in sb.slack.channel_messages(COMPLAINTS):
        if msg["text"].startswith(f"Complaint {ref}:"):
            return "\n".join(r["text"] for r in msg["replies"])
    return ""
