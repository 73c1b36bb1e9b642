"""Turn an outbox row into Slack calls: render at delivery time, then send.

Rendering at delivery (not when the row is queued in the step's transaction) is also what
gives each message its language: what goes into a shared channel (cards, thread posts,
alerts, the digest, files shared in a thread) is in the `LANGUAGE` setting; a direct
message is in its recipient's own Slack language (`Directory.locale`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from blocks import card as card_blocks
from blocks import posts, scope
from bot.i18n import use_locale
from bot.models import Case, Outbox
from bot.slack.approvals import approval_decided
from bot.slack.directory import Directory
from bot.slack.documents import Documents
from bot.slack.gateway import Gateway
from bot.workflow import Desk
from bot.workflow.taxonomy import category_names
from bot.workflow.view import LABELS, case_view, event_view

log = logging.getLogger(__name__)


class NoCard(Exception):
    """The case's card was never posted (its own delivery failed), so there is no thread."""


class Delivery:
    """Knows how to deliver each kind of outbox row. New kinds register a function."""

    def __init__(self, desk: Desk, gateway: Gateway, directory: Directory) -> None:
        self.desk = desk
        self.gateway = gateway
        self.directory = directory
        self.kinds: dict[str, Callable[[Outbox, dict[str, Any]], dict[str, Any]]] = {
            "card_post": self.card_post,
            "card_update": self.card_update,
            "thread_post": self.thread_post,
            "confirm_reporter": self.confirm_reporter,
            "dm": self.direct_message,
            "alert": self.alert,
        }
        # files made in the worker and uploaded: report, archive, register (documents.py)
        self.kinds.update(Documents(self).kinds())
        self.kinds["approval_decided"] = partial(approval_decided, self)  # issue 12(3f)

    def deliver(self, row: Outbox) -> dict[str, Any]:
        """Deliver one row; returns what to store as its result. `row.result` holds what
        earlier attempts achieved, so a retry does not repeat a part that succeeded."""
        with use_locale(self.directory.settings.language):
            return self.kinds[row.kind](row, dict(row.result or {}))

    def on_sent(self, s: Session, row: Outbox, result: dict[str, Any]) -> None:
        """What a delivered row changes in the record, in the transaction that records it
        sent (bot/slack/outbox.py): a new card's ts, kept with its case. One transaction,
        not two; a crash before it commits leaves the row to be tried again, and the
        retry finds the card already in the channel (bot/slack/pacing.py) and keeps it."""
        if row.kind == "card_post" and row.case_id is not None and not result.get("skipped"):
            self.desk.record_card_in(s, row.case_id, result["channel"], result["ts"])

    def personal(self, user_id: str) -> Any:
        """`with delivery.personal(uid):` renders a DM in that person's language."""
        return use_locale(self.directory.locale(user_id))

    # -- helpers ---------------------------------------------------------------------
    def _case(self, row: Outbox) -> Case:
        assert row.case_id is not None
        case = self.desk.get_case(row.case_id, full=False)
        if case.status == "approval":  # issue 12(3f): the card shows what awaits approval
            case = self.desk.get_case(row.case_id, full=True)
        return case

    def _vm(self, case: Case, **kw: Any) -> dict[str, Any]:
        return case_view(case, self.desk.now(), **kw)

    def _card(self, case: Case) -> dict[str, Any]:
        """The card, its next owners @-mentioned (a role or unit as its people and groups)."""
        vm = self._vm(case)
        return card_blocks.case_card(vm, self.directory.mention_targets(vm["owners"]))

    def _permalink(self, case: Case) -> str | None:
        if not case.card_ts or not case.channel_id:
            return None
        return self.gateway.permalink(case.channel_id, case.card_ts)

    # -- kinds -------------------------------------------------------------------------
    def card_post(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case = self._case(row)
        if case.card_ts:  # posted before a crash or a lost acknowledgement
            return {"ts": case.card_ts, "skipped": True}
        msg = self._card(case)
        resp = self.gateway.call(
            "chat.postMessage", channel=case.channel_id, **msg, unfurl_links=False
        )
        # the card's ts is kept with the case by `on_sent`, as the row is recorded sent
        return {"ts": resp["ts"], "channel": resp["channel"]}

    def card_update(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case = self._case(row)
        if not case.card_ts:
            raise NoCard(case.ref)
        msg = self._card(case)
        self.gateway.call("chat.update", channel=case.channel_id, ts=case.card_ts, **msg)
        return {"ts": case.card_ts}

    def thread_post(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case = self._case(row)
        if not case.card_ts:
            raise NoCard(case.ref)
        msg = self.step_post(case, row.payload)
        if msg is None:
            return {"skipped": "no such event"}
        resp = self.gateway.call(
            "chat.postMessage", channel=case.channel_id, thread_ts=case.card_ts, **msg
        )
        return {"ts": resp.get("ts")}

    def step_post(self, case: Case, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The thread post of the event `payload["event_id"]`, mentioning the payload's
        targets (None if there is no such event)."""
        event = self.desk.get_event(int(payload.get("event_id") or 0))
        if event is None:
            return None
        mentions = self.directory.mention_targets(payload.get("mention", []))
        # the categories as configured (COMPLAINT_CATEGORIES), named in this language
        names = category_names(self.directory.settings.categories)
        labels = {**LABELS, "complaint_category": names}
        return posts.thread_post(self._vm(case), event_view(event), mentions, labels)

    def confirm_reporter(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """A row queued before 30 Nov 2026 (the card now tells the reporter)."""
        case = self._case(row)
        with self.personal(row.payload["user"]):
            msg = posts.reporter_confirmation(self._vm(case), self._permalink(case))
        resp = self.gateway.call("chat.postMessage", channel=row.payload["user"], **msg)
        return {"ts": resp.get("ts")}

    def direct_message(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """One DM per person behind the targets; people already messaged are skipped on
        a retry (the sender saves progress after each one)."""
        case = self._case(row)
        link = self._permalink(case)
        users: set[str] = set()
        for target in row.payload.get("to", []):
            users |= self.directory.role_members(target)
        sent = list(done.get("sent", []))
        # issue 12(3f): where each DM went, so it can be updated once the case moves on
        posted = dict(done.get("posted", {}))
        for uid in sorted(users):
            if uid in sent:
                continue
            with self.personal(uid):  # the view's words (status, next step) too
                msg = self.render_dm(row, self._vm(case), link)
            resp = self.gateway.call("chat.postMessage", channel=uid, **msg)
            sent.append(uid)
            if resp.get("ts"):
                posted[uid] = [resp.get("channel") or uid, resp["ts"]]
            row.result = {"sent": sent, "posted": posted}
            self.progress(row)
        return {"sent": sent, "posted": posted}

    def render_dm(self, row: Outbox, vm: dict[str, Any], link: str | None) -> dict[str, Any]:
        if row.payload.get("message") == "approval":
            return posts.approval_request(vm, link)
        if row.payload.get("message") == "quality_filed":  # issue 12(3d)
            return scope.quality_filed(vm, link)
        return posts.notice(str(row.payload.get("text", ""))[:3000] or vm["ref"])

    def alert(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case = self._case(row)
        extra = {k: v for k, v in row.payload.items() if k not in ("channel", "alert")}
        msg = posts.alert(self._vm(case), row.payload["alert"], self._permalink(case), extra)
        resp = self.gateway.call(
            "chat.postMessage", channel=row.payload["channel"], **msg, unfurl_links=False
        )
        return {"ts": resp.get("ts")}

    # set by the sender: persists partial progress of a multi-message row
    def progress(self, row: Outbox) -> None:  # pragma: no cover - replaced by the sender
        pass
