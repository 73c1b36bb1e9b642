"""The to-do's cost (issue 12): building and rendering a person's Home tab and their
`/complaint list` with many open cases, and the Home refreshes a burst of steps queues.

    .venv/bin/python -m bench.home [--cases 500] [--runs 5] [--database-url URL]

Files `--cases` complaints on a fresh database (SQLite in a temporary directory unless a
URL is given; a PostgreSQL URL's schema is DROPPED first), all waiting for Technical
Quality, then prints the median time of `runs` Home builds for Technical Quality (every
case on its list), for Marketing (none waiting, all reported), `/complaint list` for
Technical Quality, the blocks of each view, and the outbox rows a burst of 50 steps
leave for Home refreshes while none is sent (merged: one row, not one per change).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, select, text

from bot.config import load_settings
from bot.models import Base, Outbox, make_engine, make_session_factory
from bot.slack.home import Home
from bot.workflow import Actor, Desk, IntakeForm, Role, validate_intake
from bot.workflow.reminders import install_hook

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-bench",
    "SLACK_SIGNING_SECRET": "x",
    "COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "MANAGEMENT_CHANNEL": "C0MANAGE",
    "TIMEZONE": "Asia/Shanghai",
}
TQ = Actor("U0TQ", frozenset({Role.QUALITY}))
MKT = Actor("U0MKT", frozenset({Role.MARKETING}))


class People:
    """The directory the Home asks: who holds which role, and their language."""

    def actor(self, user_id: str) -> Actor:
        return TQ if user_id == TQ.user_id else MKT

    def locale(self, user_id: str) -> str:
        return "en"


def _median(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/home.sqlite3"
    if url.startswith("postgresql"):
        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    clock = [now]
    desk = Desk(
        make_session_factory(engine), load_settings(ENV, dotenv=False), clock=lambda: clock[0]
    )
    install_hook(desk)
    form = {
        "customer": "ACME 客户",
        "contact": "li@acme.example",
        "product": "Valve V2",
        "lots": "L-0915",
        "quantity": "120",
        "via": "email",
        "description": "leaks at 3 bar",
    }
    t = time.perf_counter()
    ids = []
    for _ in range(args.cases):
        complaint = validate_intake(IntakeForm(**form), today=now.date())
        ids.append(desk.file_complaint(complaint, MKT, now).id)
    filing = (time.perf_counter() - t) / args.cases
    clock[0] = now + timedelta(hours=1)
    home = Home(desk, gateway=None, directory=People())
    views = {}

    def build(user: str) -> None:
        views[user] = home.view(user)

    tq = _median(lambda: build(TQ.user_id), args.runs)
    mkt = _median(lambda: build(MKT.user_id), args.runs)
    listing = _median(lambda: home.list_reply(TQ.user_id, ""), args.runs)
    for case_id in ids[:50]:
        desk.confirm_information(case_id, TQ, clock[0])
    with desk.readers() as s:
        after = s.scalar(select(func.count(Outbox.id)).where(Outbox.kind == "home_refresh"))
    print(f"database: {engine.dialect.name}, open cases: {args.cases}")
    print(f"filing (with clocks, reminders, Home refresh): {filing * 1000:.1f} ms per case")
    print(
        f"Home for Technical Quality ({args.cases} waiting): {tq * 1000:.0f} ms, "
        f"{len(views[TQ.user_id]['blocks'])} blocks"
    )
    print(
        f"Home for Marketing (0 waiting, {args.cases} reported): {mkt * 1000:.0f} ms, "
        f"{len(views[MKT.user_id]['blocks'])} blocks"
    )
    print(f"/complaint list for Technical Quality: {listing * 1000:.0f} ms")
    print(
        f"Home refresh rows queued by {args.cases} filings and 50 steps, none sent yet: "
        f"{after} (merged)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
