"""Helpers that drive the case card like people do: click a button, fill the modal."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.models import Case, CaseEvent
from tests.conftest import COMPLAINTS, TQ, Running

CONFIRM = {"category": "function"}  # the confirmation form's answers when a test needs no other
# issue 12(3c): what Marketing told the customer, and that the customer accepted it
INFORMED = {"told": "Explained the jig damage, with photos", "reaction": "accepted"}


def case_now(r: Running, case_id: int) -> Case:
    return r.desk.get_case(case_id)


def card_buttons(r: Running, case: Case) -> list[str]:
    """The action_ids of the buttons on the card as Slack shows it now."""
    msg = r.fake.messages[(COMPLAINTS, case.card_ts)]
    return [
        el["action_id"]
        for b in msg.get("blocks", [])
        if b["type"] == "actions"
        for el in b["elements"]
    ]


def take(
    r: Running,
    user: str,
    case_id: int,
    name: str,
    answers: dict[str, Any] | None = None,
    *,
    expect_modal: bool | None = None,
) -> Any:
    """Click `step:<name>` on the card; fill and submit the modal if one opens. Returns the
    submission's reply (None for buttons that act directly)."""
    if name == "confirm_information" and answers is None:
        answers = CONFIRM  # since issue 14 the confirmation files the complaint under a category
    if name == "confirm_customer_informed" and answers is None:
        answers = INFORMED  # since issue 12(3c) a form: what was said, how it was taken
    case = case_now(r, case_id)
    before = len(r.fake.calls_to("views.open"))
    reply = r.client.click(
        user, f"step:{name}", f"{case.id}:{case.step}", message_ts=case.card_ts or "1.1"
    )
    assert reply.status == 200, reply.body
    r.bot.wait_idle()  # the listener goes on after the ack
    opened = r.fake.calls_to("views.open")[before:]
    if expect_modal is not None:
        assert bool(opened) == expect_modal, f"modal opened for {name}: {bool(opened)}"
    result = None
    if opened:
        result = r.client.submit(user, opened[-1].args["view"], answers or {})
        assert result.status == 200, result.body
        assert "Not changed" not in result.body, result.body
    r.settle()
    return result


def events(r: Running, case_id: int) -> list[CaseEvent]:
    with r.desk.sessions() as s:
        return list(
            s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )


def thread_texts(r: Running, case: Case) -> list[str]:
    return [
        json.dumps(m.get("blocks", [])) + m.get("text", "")
        for m in r.fake.thread(COMPLAINTS, case.card_ts)
    ]


def ephemerals(r: Running, user: str) -> list[str]:
    return [
        c.args.get("text", "")
        for c in r.fake.calls_to("chat.postEphemeral")
        if c.args.get("user") == user
    ]


def walk_to_approval(
    r: Running,
    case_id: int,
    *,
    unit: str,
    member: str,
    reason: str,
    containment: str,
    corrective: dict[str, Any],
    preventive: dict[str, Any],
) -> None:
    """Technical Quality confirms, decides the case is ours (`unit`) and classifies it B;
    the unit's `member` records containment and both reports: it awaits approval."""
    take(r, TQ, case_id, "confirm_information")
    decision = {"party": "ours", "units": [unit], "reason": reason}
    take(r, TQ, case_id, "decide_responsibility", decision)
    take(r, TQ, case_id, "classify_severity", {"severity": "B"})
    take(r, member, case_id, "record_containment", {"actions": containment})
    take(r, member, case_id, "submit_corrective_action", corrective)
    take(r, member, case_id, "submit_preventive_action", preventive)
