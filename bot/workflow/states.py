"""The procedure's states: what each is called and who owns the next step.

`Status` (bot/models/case.py) names them; this table gives their words (English msgids,
translated where shown) and the mention targets of whoever owes the next step."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import N_
from bot.models import Status

S = Status


@dataclass(frozen=True)
class State:
    label: str
    next_text: str
    owners: tuple[str, ...] = field(default=())  # mention targets; "reporter", "units"


STATES: dict[Status, State] = {
    S.RECEIVED: State(
        N_("Received"),
        N_("Technical Quality confirms the information is complete"),
        ("role:quality",),
    ),
    S.INFO_REQUESTED: State(
        N_("Waiting for information"),
        N_("The reporter adds the missing information"),
        ("reporter",),
    ),
    S.RESPONSIBILITY: State(
        N_("Responsibility to decide"),
        N_("Technical Quality decides responsibility"),
        ("role:quality",),
    ),
    S.CUSTOMER_NOTICE: State(
        N_("Customer's responsibility — informing"),
        N_("Marketing tells the customer (tactfully) and confirms"),
        ("reporter", "role:marketing"),
    ),
    S.SEVERITY: State(
        N_("Severity to classify"),
        N_("Technical Quality classifies severity A/B/C"),
        ("role:quality",),
    ),
    S.CONTAINMENT: State(
        N_("Immediate containment"),
        N_("The responsible unit checks stock and records the immediate containment"),
        ("units",),
    ),
    S.CORRECTIVE: State(
        N_("Corrective action"),
        N_("The responsible unit submits the corrective-action report"),
        ("units",),
    ),
    S.PREVENTIVE: State(
        N_("Preventive action"),
        N_("The responsible unit submits the preventive-action report"),
        ("units",),
    ),
    S.APPROVAL: State(
        N_("Awaiting management approval"),
        N_("Management approves or rejects the improvement report"),
        ("role:management",),
    ),
    S.APPROVED: State(
        N_("Approved — to send"),
        N_("Technical Quality sends the approved report to the customer"),
        ("role:quality",),
    ),
    S.CUSTOMER_REVIEW: State(
        N_("With the customer"),
        N_("Marketing records the customer's answer"),
        ("reporter", "role:marketing"),
    ),
    S.VERIFICATION: State(
        N_("Verifying effectiveness"),
        N_("Technical Quality checks later lots and closes when the actions work"),
        ("role:quality",),
    ),
    S.CLOSED: State(N_("Closed"), N_("Nothing — the case is closed and archived")),
}
# the same, by the names other modules use
STATUS_LABEL: dict[Status, str] = {s: st.label for s, st in STATES.items()}
NEXT_STEP_TEXT: dict[Status, str] = {s: st.next_text for s, st in STATES.items()}
NEXT_OWNER: dict[Status, list[str]] = {s: list(st.owners) for s, st in STATES.items()}


# what each of a case's running clocks (bot/models/case.py `CLOCKS`) is called on the card;
# a module that registers a clock adds its name here
CLOCK_NAMES: dict[str, str] = {"corrective": N_("Corrective"), "preventive": N_("Preventive")}
