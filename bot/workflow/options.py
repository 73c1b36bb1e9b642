"""The procedure's option tables: value -> English msgid (marked with `N_`).

Forms offer them, thread posts, cards and records show them (translated with `_()` where
shown); `TABLES` names them for the field declarations (`Field.options`)."""

from __future__ import annotations

from bot.i18n import N_
from bot.workflow.intake import COMPLAINT_KINDS, RECEIVED_VIA

SEVERITIES = {"A": N_("A — critical"), "B": N_("B — major"), "C": N_("C — minor")}
SEVERITY_TEXT = {
    "A": N_(
        "Loss of function or performance; a hazard or latent risk to personal safety; a "
        "breach of law, regulation or industry rules; major loss to the customer; serious "
        "damage to our reputation."
    ),
    "B": N_(
        "Degraded function or performance; affects normal use or operation; direct loss to "
        "the customer; damages the customer's confidence."
    ),
    "C": N_(
        "Anything else: cosmetic defects that do not affect function or performance and "
        "cause the customer no direct loss."
    ),
}
CAUSE_CATEGORIES = {
    "people": N_("People"),
    "machine": N_("Machine"),
    "material": N_("Material"),
    "method": N_("Method"),
    "environment": N_("Environment"),
}
DISPOSITIONS = {
    "rework": N_("Rework"),
    "sort": N_("Sort / 100% inspection"),
    "scrap": N_("Scrap"),
    "return": N_("Return to supplier"),
    "concession": N_("Accept as is (concession)"),
    "none": N_("No stock affected"),
}
DOCUMENTS = {
    "work_instruction": N_("Work instruction"),
    "control_plan": N_("Control plan"),
    "fmea": N_("FMEA (failure mode analysis)"),
    "fixture": N_("Fixture / mistake-proofing"),
    "training": N_("Training"),
    "inspection": N_("Inspection standard"),
}
CLOSURE = {
    "A": N_("Actions carried out and shown to work"),
    "B": N_("Three lots in a row without the same problem"),
    "not_ours": N_("Not our responsibility (customer informed)"),
}
CLEAN_LOTS_TO_CLOSE = 3
# how the approved report went to the customer ("Sent to customer")
SEND_METHODS = {
    "email": N_("E-mail"),
    "portal": N_("Customer portal"),
    "in_person": N_("In person"),
}
PARTIES = {"ours": N_("Our company"), "customer": N_("The customer")}
ANSWERS = {"yes": N_("Accepted"), "no": N_("Not accepted: new countermeasures needed")}
LOT_RESULTS = {"ok": N_("No recurrence"), "same_problem": N_("Same problem: actions not effective")}
STOCK_PLACES = {
    "warehouse": N_("In our warehouse"),
    "transit": N_("On the way to the customer"),
    "customer": N_("At the customer"),
}

# issue 12(3c): how the customer took "not our responsibility"
CUSTOMER_REACTIONS = {
    "accepted": N_("Accepted it: close the case"),
    "disputed": N_("Disputed it: decide responsibility again"),
}
REOPENED = {
    "disputed": N_("Disputed by the customer: responsibility decided again, deadlines restarted"),
}

# issue 12(3b): the one checkbox of criterion A
NO_HARM = {"yes": N_("The actions had no negative effect on quality")}
TABLES: dict[str, dict[str, str]] = {
    "no_harm": NO_HARM,
    "severity": SEVERITIES,
    "severity_text": SEVERITY_TEXT,
    "category": CAUSE_CATEGORIES,
    "disposition": DISPOSITIONS,
    "documents": DOCUMENTS,
    "closure": CLOSURE,
    "closure_choice": {k: v for k, v in CLOSURE.items() if k in ("A", "B")},
    "send_method": SEND_METHODS,
    "party": PARTIES,
    "answer": ANSWERS,
    "lot_result": LOT_RESULTS,
    "via": RECEIVED_VIA,
    "stock_places": STOCK_PLACES,
    "complaint_kind": COMPLAINT_KINDS,
    "customer_reaction": CUSTOMER_REACTIONS,
    "reopened": REOPENED,
}
