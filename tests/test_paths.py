"""Paths no test ran before: the Home tab (what each person sees), the inbox giving up and
the person being told, a views.open Slack refuses, and the `migrate` and `export` commands
run as a person runs them. (Refusals at click time: tests/test_roles.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.models import Inbox, InboxStatus, make_engine, make_session_factory
from bot.workflow import Desk
from bot.workflow.inbox import MAX_ATTEMPTS
from tests.conftest import COMPLAINTS, MKT, OUTSIDER, TQ, Running, make_settings
from tests.procedure import case_now, ephemerals, events, take
from tests.test_intake import file_complaint

ROOT = Path(__file__).resolve().parent.parent


# --- the Home tab -----------------------------------------------------------------------------


def open_home(r: Running, user: str, tab: str = "home") -> dict[str, Any] | None:
    before = len(r.fake.calls_to("views.publish"))
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user[1:]}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    assert r.client.event(event).status == 200
    r.settle()
    published = r.fake.calls_to("views.publish")[before:]
    if not published:
        return None
    (call,) = published
    assert call.args["user_id"] == user
    return call.args["view"]


def home_lists(view: dict[str, Any]) -> dict[str, str]:
    """The Home tab's lists as text, by title ("Waiting for you", "Reported by you", …)."""
    out: dict[str, str] = {}
    current = None
    for b in view["blocks"]:
        if b["type"] == "section":
            text = b["text"]["text"]
            if text.startswith("*") and text.endswith(")") and "\n" not in text:
                current = text.split("*")[1]
                out[current] = ""
            elif current:
                out[current] += text + "\n"
        elif b["type"] == "context" and current:
            out[current] += b["elements"][0]["text"] + "\n"
    return out


def test_home_tab_is_a_to_do_for_each_person(running) -> None:
    r = running
    mine = file_complaint(r, customer="Acme <Shenzhen>")  # reported by Marketing
    theirs = file_complaint(
        r, user=TQ, customer="Beta 客户", window=MKT
    )  # reported by Technical Quality
    closed = file_complaint(r, customer="Gamma")
    take(r, TQ, closed.id, "confirm_information")
    take(r, TQ, closed.id, "decide_responsibility", {"party": "customer", "reason": "misuse"})
    take(r, MKT, closed.id, "confirm_customer_informed")
    assert case_now(r, closed.id).status == "closed"

    seen = {}
    for user in (MKT, TQ, OUTSIDER):
        view = open_home(r, user)
        assert view is not None and view["type"] == "home"
        seen[user] = home_lists(view)
    mkt, tq, outsider = seen[MKT], seen[TQ], seen[OUTSIDER]
    # Technical Quality confirms both open cases: they wait for it, whoever reported them
    assert mine.ref in tq["Waiting for you"] and theirs.ref in tq["Waiting for you"]
    assert theirs.ref in tq["Reported by you"] and mine.ref not in tq["Reported by you"]
    # Marketing waits for nobody's step here; it sees what it reported
    assert "Nothing is waiting for you." in mkt["Waiting for you"]
    assert mine.ref in mkt["Reported by you"] and theirs.ref not in mkt["Reported by you"]
    assert "Acme &lt;Shenzhen&gt;" in mkt["Reported by you"]  # user text escaped on Home too
    assert "You have no open complaints." in outsider["Reported by you"]
    assert all(closed.ref not in text for lists in seen.values() for text in lists.values())
    # the Messages tab is not the Home tab: nothing is published
    assert open_home(r, MKT, tab="messages") is None


# --- the inbox gives up ------------------------------------------------------------------------


def test_the_inbox_gives_up_after_its_retries_and_tells_the_person(running) -> None:
    r = running
    case = file_complaint(r)
    # a stored click the worker cannot do (as a request stored by an older version with
    # another payload shape would be): it fails every time, so it is retried, then dropped
    assert r.desk.inbox.accept_request(
        key="action:U0MKT1:9.9:broken",
        kind="step",
        user_id=MKT,
        channel_id=COMPLAINTS,
        payload={"step": "confirm_information", "case_id": "CC-2026-0001", "seen_step": 1},
        now=r.clock(),
    )
    told_before = ephemerals(r, MKT)
    r.bot.wakeup()
    assert r.bot.worker.drain(120)
    with r.desk.sessions() as s:
        (row,) = s.scalars(select(Inbox).where(Inbox.key == "action:U0MKT1:9.9:broken"))
    assert row.status == InboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert row.outcome.startswith("failed: ValueError")
    told = ephemerals(r, MKT)[len(told_before) :]
    assert len(told) == 1  # told once, when it gave up; not at each retry
    assert told[0].startswith("Sorry — the complaint desk could not record that.")
    assert [e.kind for e in events(r, case.id)] == ["filed"]


# --- views.open refused by Slack ---------------------------------------------------------------


class LateClock:
    """The fake Slack's clock; each trigger handed out reaches the bot 3.5 s later."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_form_slack_would_not_open_is_told_and_changes_nothing(running) -> None:
    r = running
    case = file_complaint(r)
    take(r, TQ, case.id, "confirm_information")
    case = case_now(r, case.id)
    clock, triggers = LateClock(), r.client.triggers

    def late_trigger() -> str:
        trigger = r.fake.issue_trigger()
        clock.t += 3.5  # past Slack's 3 s before the bot asks for the form
        return trigger

    r.fake.clock, r.client.triggers = clock, late_trigger
    try:
        told = len(ephemerals(r, TQ))
        take(r, TQ, case.id, "decide_responsibility", expect_modal=False)
    finally:
        r.fake.clock, r.client.triggers = time.monotonic, triggers
    assert [c.error for c in r.fake.rejected if c.method == "views.open"] == ["expired_trigger_id"]
    assert ephemerals(r, TQ)[told:] == ["Slack did not open the form in time — please try again."]
    assert case_now(r, case.id).step == case.step
    # the next click, on time, opens it
    take(r, TQ, case.id, "decide_responsibility", {"party": "customer", "reason": "misuse"})
    assert case_now(r, case.id).status == "customer_notice"


# --- the commands ----------------------------------------------------------------------------


def command(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_and_export_run_as_commands(database_url: str, tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "COMPL"))
    }
    env["PYTHONPATH"] = str(ROOT)
    # export on a database that was never made: one line, not a traceback
    bare = command(["export", "CC-2026-0001"], env, tmp_path)
    assert bare.returncode == 1 and len(bare.stderr.strip().splitlines()) == 1, bare.stderr
    assert "no database at" in bare.stderr
    # migrate and export need only DATABASE_URL: no Slack setting at all here
    env |= {"DATABASE_URL": database_url}
    done = command(["migrate"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    revision = done.stdout.strip().rsplit(" ", 1)[-1].rstrip(")")
    assert done.stdout.startswith(f"database at revision {revision} (latest {revision})")
    again = command(["migrate"], env, tmp_path)  # a second run changes nothing
    assert again.returncode == 0 and again.stdout == done.stdout

    # the schema the command made is one the desk can use: file a case, then export it
    from tests.test_roles import NOW, case_at

    settings = make_settings(database_url, "http://127.0.0.1:9/api/")
    engine = make_engine(database_url)
    try:
        case = case_at(
            Desk(make_session_factory(engine), settings, clock=lambda: NOW), "send_to_customer"
        )
    finally:
        engine.dispose()
    out = command(["export", case.ref], env, tmp_path)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["case"]["ref"] == case.ref and record["case"]["customer"] == "Acme 客户"
    assert [e["kind"] for e in record["events"]][:3] == [
        "filed",
        "confirm_information",
        "decide_responsibility",
    ]
    assert {r["kind"] for r in record["reports"]} == {"containment", "corrective", "preventive"}
    missing = command(["export", "CC-1999-0001"], env, tmp_path)
    assert missing.returncode == 1 and "There is no case CC-1999-0001" in missing.stderr
