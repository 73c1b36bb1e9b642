"""After an approval decision, every approval DM says who decided and how (issue 12, 3(f)).

The approval request goes to each manager as a DM with live buttons; once one of them
approves or rejects, the others' DMs would otherwise keep buttons that only lead to "has
moved on". Each DM's channel and ts are in its outbox row's result (`posted`); this row
(queued by the decision, in the case's lane, so after those DMs) updates each one, in its
recipient's language, to the decision without buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from blocks.approval import approval_decided as decided_message
from bot.models import Outbox
from bot.workflow.view import event_view

if TYPE_CHECKING:
    from bot.slack.delivery import Delivery


def approval_dms(delivery: Delivery, row: Outbox) -> list[tuple[str, str, str]]:
    """(user, channel, ts) of the approval DMs this decision closes: those queued before it
    and after the case's previous decision (an earlier round's DMs already say theirs)."""
    with delivery.desk.readers() as s:
        rows = s.scalars(
            select(Outbox)
            .where(
                Outbox.case_id == row.case_id,
                Outbox.id < row.id,
                Outbox.kind.in_(("dm", "approval_decided")),
            )
            .order_by(Outbox.id)
        ).all()
        out: list[tuple[str, str, str]] = []
        for r in rows:
            if r.kind == "approval_decided":
                out = []  # closed by that earlier decision
            elif (r.payload or {}).get("message") == "approval":
                posted = (r.result or {}).get("posted") or {}
                out.extend((uid, ch, ts) for uid, (ch, ts) in posted.items())
        return out


def approval_decided(delivery: Delivery, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
    """chat.update of each approval DM; progress is saved after each, so a retry does not
    repeat one that succeeded."""
    event = delivery.desk.get_event(int(row.payload.get("event_id") or 0))
    if event is None:
        return {"skipped": "no such event"}
    case = delivery._case(row)
    link = delivery._permalink(case)
    ev = event_view(event)
    updated = list(done.get("updated", []))
    for uid, channel, ts in approval_dms(delivery, row):
        if ts in updated:
            continue
        with delivery.personal(uid):
            msg = decided_message(delivery._vm(case), ev, link)
        delivery.gateway.call("chat.update", channel=channel, ts=ts, **msg)
        updated.append(ts)
        row.result = {"updated": updated}
        delivery.progress(row)
    return {"updated": updated}
