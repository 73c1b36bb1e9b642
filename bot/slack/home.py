"""The App Home tab, `/complaint list`, and the outbox kinds that keep people told:
Home refreshes, "your turn" and outcome DMs, and the step clocks' reminders.

The Home is published in the person's own language (their Slack locale, else LANGUAGE),
both when they open it and when a case that concerns them changes (a `home_refresh`
outbox row, queued by bot/workflow/turns.py). `views.publish` is not a channel post, so
the sender's per-channel pacing does not hold it back; a burst of changes is merged into
one row, so each person's Home is published once per burst.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from blocks import clocks as clock_blocks
from blocks import home as home_blocks
from bot.i18n import use_locale
from bot.models import Case, Outbox, Status
from bot.slack.delivery import Delivery, NoCard
from bot.slack.gateway import classify
from bot.workflow import clocks as wc
from bot.workflow import steps as st
from bot.workflow import todo, turns
from bot.workflow.roles import Actor, Role
from bot.workflow.view import case_view

log = logging.getLogger(__name__)

KINDS = ("home_refresh", "turn_dm", "outcome_dm", "clock_thread", "clock_dm")

# One Home is built at a time in a process: a build holds the newest open cases in memory
# (2,000 at most, some 10 MB at 100k cases), and Slack sends `app_home_opened` on every
# click on the tab. Ten clicks used to build ten Homes at once on ten listener threads,
# and the web process kept 30-40 MB of it (issue 10, 7(e)).
_BUILDING = threading.Lock()
# the Homes asked for while one is built and not yet started: a later ask for the same
# Home (person and pages) is answered by the waiting build, which reads after it
_QUEUED: set[tuple[str, tuple[tuple[str, int], ...]]] = set()
_QUEUED_GUARD = threading.Lock()


class Home:
    """Builds a person's to-do from the desk and publishes it."""

    def __init__(self, desk: Any, gateway: Any, directory: Any) -> None:
        self.desk = desk
        self.gateway = gateway
        self.directory = directory

    def _cases(self) -> list[Case]:
        with self.desk.readers() as s:
            return todo.open_cases(s)

    def _day_seconds(self) -> float:
        cal = self.desk.calendar
        start = datetime.combine(datetime(2000, 1, 1).date(), cal.hours.start)
        end = datetime.combine(datetime(2000, 1, 1).date(), cal.hours.end)
        return (end - start).total_seconds()

    def item_vm(self, item: todo.Item, now: datetime) -> dict[str, Any]:
        """A to-do line as plain data for blocks/home.py."""
        case = item.case
        status = Status(case.status)
        clock = None
        if item.clock is not None:
            c = item.clock
            clock = {
                "name": c.name,
                "label": c.label,
                "due_at": c.due_at,
                "overdue": c.overdue(now),
                "left": self.desk.calendar.working_seconds_between(now, c.due_at),
                "day_seconds": self._day_seconds(),
                "allowance": wc.allowance(case, c.name),
            }
        return {
            "id": case.id,
            "ref": case.ref,
            "step": case.step,
            "customer": case.customer,
            "severity": case.severity,
            "status_label": st.STATUS_LABEL[status],
            "next_text": st.NEXT_STEP_TEXT[status],
            "clock": clock,
            "steps": [{"name": s.name, "label": s.label, "confirm": s.confirm} for s in item.steps],
            "action_owner": item.action_owner,
        }

    def lists(
        self, actor: Actor, now: datetime, pages: dict[str, int] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The person's lists; only the lines a page shows are worked out (the working
        time left takes a walk on the calendar), the others only counted."""
        pages = pages or {}
        names = ["waiting", "overdue", "reported"]
        if actor.has(Role.MANAGEMENT):
            names.append("approval")
        with self.desk.readers() as s:
            mine = todo.entries_for(s, actor, now, self.desk.settings.case_visibility)
            lines = {n: getattr(mine, n) for n in names}
            shown = {n: lines[n][: max(1, pages.get(n, home_blocks.PAGE))] for n in names}
            ids = list(dict.fromkeys(e.case_id for n in names for e in shown[n]))
            cases = {c.id: c for c in todo.cases_by_id(s, ids)}
            out: dict[str, list[dict[str, Any]]] = {}
            for n in names:
                vms = [
                    self.item_vm(todo.item(actor, cases[e.case_id], now, mine=e.mine), now)
                    for e in shown[n]
                    if e.case_id in cases
                ]
                out[n] = vms + [{}] * (len(lines[n]) - len(shown[n]))
        return out

    def view(self, user_id: str, pages: dict[str, int] | None = None) -> dict[str, Any]:
        actor = self.directory.actor(user_id)
        now = self.desk.now()
        can_file = actor.has(Role.MARKETING) or actor.has(Role.QUALITY)
        lists = self.lists(actor, now, pages)
        with use_locale(self.directory.locale(user_id)):
            return home_blocks.home_view(lists, can_file=can_file, pages=pages)

    def publish(
        self, user_id: str, pages: dict[str, int] | None = None, *, merge: bool = False
    ) -> None:
        """Build the Home (one build at a time in this process) and publish it. With
        `merge`, an ask made while the same Home waits to be built is left to that build,
        which starts later and so shows everything this ask would have shown."""
        key = (user_id, tuple(sorted((pages or {}).items())))
        if merge:
            with _QUEUED_GUARD:
                if key in _QUEUED:
                    return
                _QUEUED.add(key)
        try:
            with _BUILDING:
                if merge:
                    with _QUEUED_GUARD:
                        _QUEUED.discard(key)
                view = self.view(user_id, pages)
        finally:
            if merge:
                with _QUEUED_GUARD:
                    _QUEUED.discard(key)
        self.gateway.call("views.publish", user_id=user_id, view=view)

    def opened(self, user_id: str) -> None:
        """`user_id` opened the Home tab: publish it, and keep it refreshed while in use."""
        with self.desk.transaction() as s:
            turns.home_opened(s, user_id, self.desk.now())
        self.publish(user_id, merge=True)

    def in_use(self, users: list[str]) -> set[str]:
        """Those of `users` whose Home is in use (opened within HOME_LIVE_HOURS)."""
        with self.desk.readers() as s:
            return turns.homes_in_use(s, users, self.desk.now(), self.desk.settings.home_live_hours)

    def list_reply(self, user_id: str, query: str) -> dict[str, Any]:
        """`/complaint list [all|overdue|A|<customer>]` for one person, in their language."""
        actor = self.directory.actor(user_id)
        now = self.desk.now()
        kind, items = todo.filtered(
            actor, self._cases(), now, self.desk.settings.case_visibility, query
        )
        args: dict[str, Any] = {}
        if kind == "severity":
            args["sev"] = query.strip().upper()
        elif kind == "customer":
            args["customer"] = query.strip()[:80]
        with use_locale(self.directory.locale(user_id)):
            return home_blocks.list_reply(kind, [self.item_vm(i, now) for i in items], **args)


class PeopleDelivery:
    """The outbox kinds of this module, sharing one `Delivery`'s desk, gateway and
    directory."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    @property
    def home(self) -> Home:
        d = self.delivery
        return Home(d.desk, d.gateway, d.directory)

    def _users(self, targets: list[str]) -> list[str]:
        users: set[str] = set()
        for target in targets:
            users |= self.delivery.directory.role_members(target)
        return sorted(users)

    def _each(
        self, row: Outbox, done: dict[str, Any], send: Any, users: list[str] | None = None
    ) -> dict[str, Any]:
        """Call `send(user)` for each person behind the row's targets (or `users`); a
        retry skips those already done (the sender saves progress after each one)."""
        sent = list(done.get("sent", []))
        if users is None:
            users = self._users(list(row.payload.get("to") or []))
        for uid in users:
            if uid in sent:
                continue
            send(uid)
            sent.append(uid)
            row.result = {"sent": sent}
            self.delivery.progress(row)
        return {"sent": sent}

    def home_refresh(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """Republish each concerned person's Home. One person Slack refuses for good (a
        deactivated account) is skipped, not the whole row; a rate limit or an outage is
        retried like any delivery."""
        home = self.home
        # only the Homes in use: anyone else's is built when they open it (turns.py)
        concerned = self._users(list(row.payload.get("to") or []))
        live = home.in_use(concerned)

        def publish(uid: str) -> None:
            try:
                home.publish(uid)
            except Exception as exc:  # noqa: BLE001 - classified: permanent ones are skipped
                if classify(exc).retry:
                    raise
                log.warning("Home of %s not refreshed: %s", uid, classify(exc).error)

        return self._each(row, done, publish, [u for u in concerned if u in live])

    def _case(self, row: Outbox) -> tuple[Case, dict[str, Any]]:
        assert row.case_id is not None
        case = self.delivery.desk.get_case(row.case_id, full=False)
        return case, case_view(case, self.delivery.desk.now())

    def _link(self, case: Case) -> str | None:
        if not case.card_ts or not case.channel_id:
            return None
        return self.delivery.gateway.permalink(case.channel_id, case.card_ts)

    def _dm(self, row: Outbox, done: dict[str, Any], render: Any) -> dict[str, Any]:
        case, vm = self._case(row)
        link = self._link(case)

        def send(uid: str) -> None:
            with use_locale(self.delivery.directory.locale(uid)):
                msg = render(vm, row.payload, link)
            self.delivery.gateway.call("chat.postMessage", channel=uid, **msg)

        return self._each(row, done, send)

    def turn_dm(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case, _vm = self._case(row)
        if case.status != row.payload.get("status"):
            return {"skipped": "the case moved on", "sent": list(done.get("sent", []))}
        return self._dm(row, done, clock_blocks.turn_dm)

    def outcome_dm(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        return self._dm(row, done, clock_blocks.outcome_dm)

    def _still_due(self, case: Case, payload: dict[str, Any]) -> bool:
        due = wc.clock_due(case, str(payload.get("deadline")))
        want = payload.get("due_at")
        return (
            due is not None
            and bool(want)
            and int(due.timestamp()) == int(datetime.fromisoformat(str(want)).timestamp())
        )

    def clock_thread(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case, vm = self._case(row)
        if not self._still_due(case, row.payload):
            return {"skipped": "clock stopped"}
        if not case.card_ts:
            raise NoCard(case.ref)
        mentions = self.delivery.directory.mention_targets(row.payload.get("mention", []))
        msg = clock_blocks.clock_thread(vm, row.payload, mentions)
        resp = self.delivery.gateway.call(
            "chat.postMessage", channel=case.channel_id, thread_ts=case.card_ts, **msg
        )
        return {"ts": resp.get("ts")}

    def clock_dm(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        case, _vm = self._case(row)
        if not self._still_due(case, row.payload):
            return {"skipped": "clock stopped", "sent": list(done.get("sent", []))}
        return self._dm(row, done, clock_blocks.clock_dm)


def install(delivery: Delivery) -> PeopleDelivery:
    """Teach a `Delivery` this module's kinds (idempotent: re-installing replaces them)."""
    kinds = PeopleDelivery(delivery)
    for name in KINDS:
        delivery.kinds[name] = getattr(kinds, name)
    return kinds
