"""The words of the report and the register, through the message catalog.

Headings are keys into `EN` (English msgids; the Chinese is in the catalog like every other
string). A document is written in the `LANGUAGE` setting, or in both side by side
(`REPORT_BILINGUAL`: "D4 Root cause / D4 根本原因"). Coded values (disposition "rework",
category "people", …) have their own document labels here, in the procedure's words."""

from __future__ import annotations

from bot.i18n import N_, in_locale

EN: dict[str, str] = {
    "title": N_("Improvement report (8D)"),
    "record_title": N_("Complaint record"),
    "ref": N_("Reference"),
    "customer": N_("Customer"),
    "contact": N_("Customer contact"),
    "product": N_("Product"),
    "lots": N_("Lots"),
    "quantity": N_("Quantity"),
    "service": N_("Service complaint"),  # issue 12(3e): no product, lot or quantity
    "contact_window": N_("Speaks to the customer"),  # issue 12(3d)
    "received": N_("Received on"),
    "due": N_("Reply due"),
    "replied": N_("Replied"),
    "severity": N_("Severity"),
    "status": N_("Status"),
    "version": N_("Version"),
    "times_in": N_("Times are local"),
    "d1": N_("D1 Team"),
    "tq": N_("Technical Quality"),
    "units": N_("Responsible units"),
    "owners": N_("Owners"),
    "reporter": N_("Reported by"),
    "d2": N_("D2 Problem description"),
    "description": N_("Description"),
    "via": N_("How it came in"),
    "evidence": N_("Evidence"),
    "none": N_("None"),
    "d3": N_("D3 Immediate actions"),
    "where": N_("Where"),
    "warehouse": N_("In stock (warehouse)"),
    "transit": N_("In transit"),
    "at_customer": N_("At the customer"),
    "disposition": N_("What is done with the stock"),
    "actions": N_("Actions"),
    "d4": N_("D4 Root cause"),
    "category": N_("Cause type"),
    "why": N_("Why it happened (asking why, step by step)"),
    "escape": N_("Why the defect escaped detection"),
    "d56": N_("D5/D6 Corrective actions"),
    "owner": N_("Owner"),
    "planned": N_("Planned completion"),
    "lot_disposition": N_("What is done with the defective lot"),
    "d7": N_("D7 Preventive measures"),
    "direction": N_("Direction"),
    "measure": N_("Measure"),
    "documents": N_("Documents standardised"),
    "revisions": N_("Document numbers and revisions"),
    "d8": N_("D8 Approval"),
    "approver": N_("Approved by"),
    "approved_at": N_("Approved at"),
    "approved_what": N_("What was approved"),
    "not_approved": N_("Not approved yet"),
    "history": N_("History"),
    "sent": N_("Sent to the customer"),
    "rejected": N_("Rejected by management"),
    "objection": N_("Customer did not accept"),
    "reopened": N_("Reopened"),
    "page": N_("Page {n} of {m}"),
    "hash": N_("Content hash"),
    "corrective": N_("corrective action"),
    "preventive": N_("preventive action"),
    "pending": N_("Not given yet"),
    "st_planned": N_("Planned"),
    "st_customer": N_("With the customer"),
    "st_verifying": N_("Implemented, being verified"),
    "st_verified": N_("Verified effective"),
    "st_superseded": N_("Superseded"),
    "timeline": N_("Timeline"),
    "when": N_("When"),
    "who": N_("Who"),
    "what": N_("What"),
    "details": N_("Details"),
    "lot_checks": N_("Lot checks"),
    "closure": N_("Closure"),
    "name": N_("Name"),
    "from": N_("From"),
}

# document labels of the coded values the case stores (the forms' own labels are longer)
CODES: dict[str, dict[str, str]] = {
    "category": {
        "people": N_("People (人)"),
        "machine": N_("Machine (机)"),
        "material": N_("Material (料)"),
        "method": N_("Method (法)"),
        "environment": N_("Environment (环)"),
    },
    "disposition": {
        "rework": N_("Rework"),
        "sort": N_("Sort / 100% inspection"),
        "scrap": N_("Scrap"),
        "return": N_("Return to supplier"),
        "concession": N_("Use as is (customer concession)"),
        "none": N_("No stock affected"),
    },
    "documents": {
        "work_instruction": N_("Work instruction"),
        "control_plan": N_("Control plan"),
        "fmea": N_("FMEA"),
        "fixture": N_("Fixture / mistake-proofing"),
        "training": N_("Training"),
        "inspection": N_("Inspection standard"),
    },
    "via": {
        "phone": N_("Phone"),
        "fax": N_("Fax"),
        "letter": N_("Letter"),
        "email": N_("E-mail"),
        "verbal": N_("Told in person"),
        "visit": N_("Customer visit"),
        "portal": N_("Customer portal"),
        "in_person": N_("In person"),
    },
    "severity": {"A": N_("A — Critical"), "B": N_("B — Major"), "C": N_("C — Minor")},
    "closure": {
        "A": N_("A — actions carried out and verified effective"),
        "B": N_("B — three consecutive lots without the same problem"),
        "not_ours": N_("Not our responsibility (customer informed)"),
    },
    "responsibility": {"ours": N_("Ours"), "customer": N_("Customer's")},
    "status": {
        "received": N_("Received"),
        "info_requested": N_("Waiting for information"),
        "responsibility": N_("Deciding responsibility"),
        "customer_notice": N_("Customer's responsibility — informing"),
        "severity": N_("Grading severity"),
        "containment": N_("Containment"),
        "corrective": N_("Corrective action"),
        "preventive": N_("Preventive action"),
        "approval": N_("Waiting for approval"),
        "approved": N_("Approved — to send"),
        "customer_review": N_("With the customer"),
        "verification": N_("Verifying"),
        "closed": N_("Closed"),
    },
}


class Words:
    """Headings in one language, or in both side by side ("D4 Root cause / D4 根本原因")."""

    def __init__(self, language: str = "en", bilingual: bool = False) -> None:
        self.language = language
        self.bilingual = bilingual

    def text(self, msgid: str, **fmt: object) -> str:
        """Any catalog string as this document says it (one language, or both)."""
        if self.bilingual:
            en, zh = in_locale("en", msgid, **fmt), in_locale("zh-CN", msgid, **fmt)
            return en if en == zh else f"{en} / {zh}"
        return in_locale(self.language, msgid, **fmt)

    def __call__(self, key: str, **fmt: object) -> str:
        return self.text(EN[key], **fmt)

    def code(self, kind: str, value: str | None, english: dict[str, str] | None = None) -> str:
        """A coded value (disposition "rework", category "people", …) as a reader says it:
        the document label above, else the form's label `english[value]`, translated."""
        if not value:
            return ""
        label = CODES.get(kind, {}).get(value) or (english or {}).get(value, value)
        return self.text(label)


# the register's columns: (key, English msgid)
REGISTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ref", N_("Reference")),
    ("received", N_("Received on")),
    ("customer", N_("Customer")),
    ("product", N_("Product")),
    ("lots", N_("Lots")),
    ("quantity", N_("Quantity")),
    ("severity", N_("Severity")),
    ("responsibility", N_("Responsibility")),
    ("units", N_("Responsible units")),
    ("cause", N_("Cause type")),
    ("status", N_("Status")),
    ("ca_days", N_("Working days to corrective reply")),
    ("ca_on_time", N_("Corrective on time (≤ 1)")),
    ("pa_days", N_("Working days to preventive reply")),
    ("pa_on_time", N_("Preventive on time (≤ 3)")),
    ("sent", N_("Sent to customer")),
    ("closure", N_("How it was closed")),
    ("closed", N_("Closed on")),
    ("rework", N_("Times actions were redone")),
    ("evidence", N_("Evidence")),
)
REGISTER_TITLE = N_("Complaint register")
