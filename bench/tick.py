"""The scheduler tick (`bot.workflow.reminders.run_tick`) against the pre-filled database.

Measured in the bench process, with the bot server stopped: a first tick (plans the
digests), then the median of `runs` ticks with nothing due, of `runs` ticks with `due`
overdue reminders due (fresh ones inserted before each timed tick, on open cases whose
corrective-action deadline runs, so each one is claimed and turned into outbox rows), and
the morning digest's query (`digest_payload`, the part of a tick that reads the open cases).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from bench.common import bot_env
from bot.config import load_settings
from bot.models import Case, Reminder, make_session_factory


def load_run_tick() -> Callable[..., Any] | None:
    try:
        from bot.workflow.reminders import run_tick
    except ImportError:
        return None
    return run_tick


def _due_rows(engine: Engine, n: int, run: int, now: datetime) -> list[dict[str, Any]]:
    """`n` overdue reminders due a minute ago, on `n` other open cases each run."""
    with engine.connect() as conn:
        cases = conn.execute(
            select(Case.id, Case.ca_due_at, Case.rework_count)
            .where(Case.is_open.is_(True), Case.ca_done_at.is_(None), Case.ca_due_at.is_not(None))
            .order_by(Case.id)
            .offset(run * n)
            .limit(n)
        ).all()
    tag = f"run{run}"
    return [
        {
            "case_id": c.id,
            "kind": "overdue",
            "key": f"{c.id}:ca:{c.rework_count}:{int(c.ca_due_at.timestamp())}:bench-{tag}",
            "due_at": now - timedelta(minutes=1),
            "status": "pending",
            "data": {"deadline": "ca", "due": c.ca_due_at.isoformat(), "loop": c.rework_count},
        }
        for c in cases
    ]


def measure_tick(engine: Engine, database_url: str, runs: int = 5, due: int = 50) -> dict:
    run_tick = load_run_tick()
    if run_tick is None:
        return {"available": False}
    from bot.workflow import Desk

    settings = load_settings(bot_env(database_url, "http://127.0.0.1:9/api/"), dotenv=False)
    desk = Desk(make_session_factory(engine), settings)

    def timed(now: datetime) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = run_tick(desk, now)
        return (time.perf_counter() - t0) * 1000, result

    out: dict[str, Any] = {"available": True, "runs": runs}
    first_ms, _ = timed(datetime.now(UTC))
    out["first_ms"] = round(first_ms, 2)

    idle = []
    for _ in range(runs):
        ms, result = timed(datetime.now(UTC))
        if result.sent or result.cancelled:
            raise RuntimeError(f"a tick with nothing due did something: {result}")
        idle.append(ms)
    out["nothing_due_ms"] = [round(x, 2) for x in idle]
    out["nothing_due_median_ms"] = round(statistics.median(idle), 2)

    busy, sent, outbox = [], [], []
    for i in range(runs):
        now = datetime.now(UTC)
        rows = _due_rows(engine, due, i, now)
        if not rows:  # a small pre-fill ran out of open cases with a running deadline
            break
        with engine.begin() as conn:
            conn.execute(insert(Reminder), rows)
        ms, result = timed(now)
        busy.append(ms)
        sent.append(result.sent)
        outbox.append(result.outbox)
    out["due"] = due
    out["due_ms"] = [round(x, 2) for x in busy]
    out["due_median_ms"] = round(statistics.median(busy), 2) if busy else None
    out["due_sent"] = sent
    out["due_outbox_rows"] = outbox

    try:  # the one part of a tick whose cost follows the open cases: the morning digest
        from bot.workflow.reminders import digest_payload
    except ImportError:
        digest_payload = None
    if digest_payload is not None:
        times, payload = [], {}
        for _ in range(runs):
            t0 = time.perf_counter()
            with desk.sessions() as s:
                payload = digest_payload(s, desk.calendar, datetime.now(UTC))
            times.append((time.perf_counter() - t0) * 1000)
        out["digest_payload_median_ms"] = round(statistics.median(times), 2)
        out["digest_overdue_total"] = payload.get("overdue_total")
        out["digest_due_today_total"] = payload.get("due_today_total")
    return out
