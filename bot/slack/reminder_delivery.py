"""Delivery of the reminder outbox kinds: nudges, overdue posts, alerts and the digest.

Registered into `Delivery.kinds` by `install`, so the sender delivers them like any other
row: in lane order, paced per channel, retried on 429/5xx. Rendering happens here, at
delivery time, from the case as it is then: channel posts in `LANGUAGE` (set around every
delivery by `Delivery.deliver`), DMs in each recipient's own language.
"""

from __future__ import annotations

from typing import Any

from blocks import reminders as rb
from bot.models import Outbox
from bot.slack.delivery import Delivery, NoCard
from bot.workflow.view import case_view

KINDS = ("nudge_thread", "nudge_dm", "overdue_thread", "reminder_alert", "digest")


class ReminderDelivery:
    """The reminder kinds, sharing the desk, gateway and directory of one `Delivery`."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def _case_vm(self, row: Outbox) -> tuple[Any, dict[str, Any]]:
        assert row.case_id is not None
        case = self.delivery.desk.get_case(row.case_id, full=False)
        return case, case_view(case, self.delivery.desk.now())

    @staticmethod
    def _still_due(vm: dict[str, Any], payload: dict[str, Any]) -> bool:
        """A nudge queued moments before the report came in is not worth sending."""
        open_ = {"ca": vm.get("ca_due_at"), "pa": vm.get("pa_due_at")}
        open_.update({c["name"]: c["due_at"] for c in vm.get("clocks") or []})  # issue 12
        return vm["is_open"] and any(open_.get(n) for n in payload.get("deadlines", []))

    def _permalink(self, case: Any) -> str | None:
        if not case.card_ts or not case.channel_id:
            return None
        return self.delivery.gateway.permalink(case.channel_id, case.card_ts)

    def _thread(self, row: Outbox, render: Any) -> dict[str, Any]:
        case, vm = self._case_vm(row)
        if not self._still_due(vm, row.payload):
            return {"skipped": "deadline met"}
        if not case.card_ts:
            raise NoCard(case.ref)
        mentions = self.delivery.directory.mention_targets(row.payload.get("mention", []))
        msg = render(vm, row.payload, mentions, self.delivery.desk.now())
        resp = self.delivery.gateway.call(
            "chat.postMessage", channel=case.channel_id, thread_ts=case.card_ts, **msg
        )
        return {"ts": resp.get("ts")}

    def nudge_thread(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        return self._thread(row, rb.nudge_thread)

    def overdue_thread(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        return self._thread(row, rb.overdue_thread)

    def nudge_dm(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """One DM per person behind the owners; a retry skips those already messaged."""
        case, vm = self._case_vm(row)
        if not self._still_due(vm, row.payload):
            return {"skipped": "deadline met", "sent": list(done.get("sent", []))}
        users: set[str] = set()
        for target in row.payload.get("to", []):
            users |= self.delivery.directory.role_members(target)
        link = self._permalink(case) if users else None
        sent = list(done.get("sent", []))
        now = self.delivery.desk.now()
        for uid in sorted(users):
            if uid in sent:
                continue
            with self.delivery.personal(uid):  # each owner reads it in their own language
                msg = rb.nudge_dm(case_view(case, now), row.payload, link, now)
            self.delivery.gateway.call("chat.postMessage", channel=uid, **msg)
            sent.append(uid)
            row.result = {"sent": sent}
            self.delivery.progress(row)
        return {"sent": sent}

    def reminder_alert(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case, vm = self._case_vm(row)
        if row.payload.get("deadlines") and not self._still_due(vm, row.payload):
            return {"skipped": "deadline met"}
        extra = {k: v for k, v in row.payload.items() if k not in ("channel", "alert")}
        msg = rb.reminder_alert(vm, row.payload["alert"], self._permalink(case), extra)
        resp = self.delivery.gateway.call(
            "chat.postMessage", channel=row.payload["channel"], **msg, unfurl_links=False
        )
        return {"ts": resp.get("ts")}

    def digest(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        msg = rb.digest(row.payload)
        resp = self.delivery.gateway.call(
            "chat.postMessage", channel=row.payload["channel"], **msg, unfurl_links=False
        )
        return {"ts": resp.get("ts")}


def install(delivery: Delivery) -> ReminderDelivery:
    """Teach a `Delivery` the reminder kinds (idempotent: re-installing replaces them)."""
    kinds = ReminderDelivery(delivery)
    for name in KINDS:
        delivery.kinds[name] = getattr(kinds, name)
    return kinds
