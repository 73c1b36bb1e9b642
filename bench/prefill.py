"""Fill a fresh database with a realistic history, fast: Alembic to head, then bulk
`insert()` executemany in chunks.

N cases (most closed, some open) spread over the years since 2019, each with 2–4 audit
events and the three outbox rows its filing caused (all sent); open cases with a running
reply deadline get their pending reminders (all in the future, so nothing is due), closed
ones two reminders already sent. References are CC-<year>-NNNN in date order, exactly as the
bot numbers them, and `ref_counters` is set to the last number of each year, so the cases
the bot files during the run continue the sequence instead of colliding with it.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from bench.common import COMPLAINTS, DEV, MGR, MKT, MKT2, PROD, TQ, check_database_name
from bot.db import migrate
from bot.models import Case, CaseEvent, Outbox, RefCounter, Reminder
from bot.workflow.intake import format_ref

CHUNK = 5_000
TZ = ZoneInfo("Asia/Shanghai")
# open statuses and the step number a case usually has there
OPEN_FLOW = [
    ("received", 1),
    ("info_requested", 2),
    ("responsibility", 2),
    ("customer_notice", 3),
    ("severity", 3),
    ("containment", 4),
    ("corrective", 5),
    ("preventive", 6),
    ("approval", 7),
    ("approved", 8),
    ("customer_review", 9),
    ("verification", 10),
]
DEADLINE_RUNNING = {
    "received",
    "info_requested",
    "responsibility",
    "severity",
    "containment",
    "corrective",
    "preventive",
}
EVENT_KINDS = [
    "confirm_information",
    "decide_responsibility",
    "classify_severity",
    "record_containment",
    "submit_corrective_action",
]
CUSTOMERS = ["Acme Motors", "Borealis Tech", "Cathay Devices", "Delta Power", "Everbright"]


def reset_database(url: str) -> None:
    """An empty database: the SQLite file deleted, or PostgreSQL's public schema recreated
    (the database itself is created when missing)."""
    check_database_name(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    finally:
        admin.dispose()
    engine = create_engine(u)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _chunks(rows: list[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _plan_times(
    rng: random.Random, n: int, n_open: int, now: datetime
) -> list[tuple[datetime, bool]]:
    """(received_at, is_open), oldest first: closed cases since 2019, open ones recent."""
    start = datetime(2019, 1, 2, tzinfo=UTC)
    closed_end = now - timedelta(days=30)
    span = (closed_end - start).total_seconds()
    out = [(start + timedelta(seconds=rng.random() * span), False) for _ in range(n - n_open)]
    recent = timedelta(days=120).total_seconds()
    out += [
        (now - timedelta(hours=1) - timedelta(seconds=rng.random() * recent), True)
        for _ in range(n_open)
    ]
    out.sort()
    return out


def build_rows(n: int, n_open: int, now: datetime, seed: int = 42) -> dict[str, list[dict]]:
    """Every row to insert, by table (ids given explicitly so children need no RETURNING)."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    counters: dict[int, int] = {}
    event_id = outbox_id = reminder_id = 0
    for case_id, (received, is_open) in enumerate(_plan_times(rng, n, n_open, now), start=1):
        year = received.astimezone(TZ).year
        counters[year] = counters.get(year, 0) + 1
        ca_due = received + timedelta(days=1)
        pa_due = received + timedelta(days=3)
        row: dict[str, Any] = {
            "id": case_id,
            "ref": format_ref(year, counters[year]),
            "customer": rng.choice(CUSTOMERS),
            "customer_contact": "QA desk, +86 21 5555 0101",
            "product": f"PCB-{rng.randrange(1000, 9999)} rev {rng.choice('ABCD')}",
            "lots": f"L{year}-{rng.randrange(1, 9999):04d}",
            "quantity": rng.randrange(10, 5000),
            "received_via": rng.choice(["email", "phone", "letter", "visit"]),
            "description": "Solder bridges found at incoming inspection; photos attached. "
            * rng.randrange(1, 4),
            "customer_deadline": None,
            "urgent": rng.random() < 0.05,
            "evidence": [],
            "notes": "",
            "reporter_id": rng.choice([MKT, MKT2, TQ]),
            "received_at": received,
            "created_at": received,
            "channel_id": COMPLAINTS,
            "card_ts": f"{int(received.timestamp())}.{case_id % 1_000_000:06d}",
            "delivery_error": None,
            "responsibility": "ours",
            "responsibility_reason": "Our process",
            "units": [rng.choice(["production", "development"])],
            "severity": rng.choice("ABCC"),
            "rework_count": 0,
            "ca_due_at": ca_due,
            "pa_due_at": pa_due,
            "ca_done_at": ca_due - timedelta(hours=2),
            "pa_done_at": pa_due - timedelta(hours=2),
            "approved_by": MGR,
            "approved_at": pa_due,
            "sent_at": pa_due,
            "accepted_at": pa_due + timedelta(days=2),
            "containment_at": received + timedelta(hours=4),
            "clean_lots": 3,
            "closure": None,
            "closed_at": None,
            "closed_by": None,
        }
        if is_open:
            status, step = rng.choice(OPEN_FLOW)
            row.update(status=status, is_open=True, step=step, clean_lots=0)
            if status in DEADLINE_RUNNING:
                # the reply deadlines still run: one in twenty is overdue (its reminders
                # all went out); the others have their reminders pending, all in the future
                overdue = rng.random() < 0.05
                if overdue:
                    ca_due = now - timedelta(days=1, seconds=rng.random() * 10 * 86400)
                else:
                    ca_due = now + timedelta(days=2, seconds=rng.random() * 20 * 86400)
                pa_due = ca_due + timedelta(days=2)
                row.update(
                    ca_due_at=ca_due,
                    pa_due_at=pa_due,
                    ca_done_at=None,
                    pa_done_at=None,
                    approved_by=None,
                    approved_at=None,
                    sent_at=None,
                    accepted_at=None,
                )
                for name, due in (("ca", ca_due), ("pa", pa_due)):
                    prefix = f"{case_id}:{name}:0:{int(due.timestamp())}"
                    base = {"deadline": name, "due": due.isoformat(), "loop": 0}
                    for key, kind, at, extra in (
                        ("half", "nudge", now + (due - now) / 2, {"point": "half"}),
                        ("overdue", "overdue", due, {}),
                        ("esc1", "escalation", due + timedelta(days=1), {"days": 1}),
                        ("esc2", "escalation", due + timedelta(days=2), {"days": 2}),
                    ):
                        if kind == "nudge" and due <= now:
                            at = due - timedelta(hours=4)
                        done = at <= now  # what fell due has been sent
                        reminder_id += 1
                        reminders.append(
                            {
                                "id": reminder_id,
                                "case_id": case_id,
                                "kind": kind,
                                "key": f"{prefix}:{key}",
                                "due_at": at,
                                "status": "sent" if done else "pending",
                                "data": {**base, **extra},
                                "done_at": at if done else None,
                                "done_by": "bench-prefill" if done else None,
                            }
                        )
        else:
            closed = min(received + timedelta(days=rng.randrange(5, 60)), now)
            closure = rng.choice(["B", "B", "A", "not_ours"])
            row.update(
                status="closed",
                is_open=False,
                step=11,
                closure=closure,
                closed_at=closed,
                closed_by=TQ,
            )
            for key, kind, at in (("half", "nudge", received + timedelta(hours=4)),):
                for name in ("ca", "pa"):
                    reminder_id += 1
                    reminders.append(
                        {
                            "id": reminder_id,
                            "case_id": case_id,
                            "kind": kind,
                            "key": f"{case_id}:{name}:0:{int(received.timestamp())}:{key}",
                            "due_at": at,
                            "status": "sent",
                            "data": {"deadline": name, "loop": 0},
                            "done_at": at,
                            "done_by": "bench-prefill",
                        }
                    )
        cases.append(row)

        at = received
        first_event = event_id + 1
        for i in range(rng.randrange(2, 5)):
            event_id += 1
            kind = "filed" if i == 0 else EVENT_KINDS[i - 1]
            events.append(
                {
                    "id": event_id,
                    "case_id": case_id,
                    "at": at,
                    "actor": MKT if i == 0 else rng.choice([TQ, PROD, DEV]),
                    "kind": kind,
                    "data": {"from": "received", "to": "responsibility", "note": ""},
                    "step": i + 1,
                }
            )
            at += timedelta(hours=rng.randrange(1, 30))
        for kind, payload in (
            ("card_post", {}),
            ("thread_post", {"event_id": first_event, "mention": ["role:quality"]}),
            ("confirm_reporter", {"user": row["reporter_id"]}),
        ):
            outbox_id += 1
            outbox.append(
                {
                    "id": outbox_id,
                    "case_id": case_id,
                    "lane": f"case:{case_id}",
                    "kind": kind,
                    "payload": payload,
                    "status": "sent",
                    "attempts": 1,
                    "created_at": received,
                    "next_attempt_at": received,
                    "claimed_until": None,
                    "sent_at": received + timedelta(seconds=1),
                    "last_error": None,
                    "result": {"ts": row["card_ts"]},
                }
            )
    return {
        "cases": cases,
        "case_events": events,
        "outbox": outbox,
        "reminders": reminders,
        "ref_counters": [{"year": y, "last": n} for y, n in sorted(counters.items())],
    }


TABLES = {
    "cases": Case.__table__,
    "case_events": CaseEvent.__table__,
    "outbox": Outbox.__table__,
    "reminders": Reminder.__table__,
    "ref_counters": RefCounter.__table__,
}


def prefill(engine: Engine, n: int, n_open: int, now: datetime) -> dict[str, Any]:
    """Migrate, bulk-insert, fix the id sequences (PostgreSQL) and analyze; returns the
    row counts and how long each part took."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    migrate(engine)
    timings["migrate_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    gc.disable()  # a million fresh dicts would trigger ever longer collections
    try:
        rows = build_rows(n, n_open, now)
    finally:
        gc.enable()
    timings["generate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    for name in ("cases", "case_events", "outbox", "reminders", "ref_counters"):
        table = TABLES[name]
        for chunk in _chunks(rows[name]):
            with engine.begin() as conn:
                conn.execute(insert(table), chunk)
    timings["insert_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in ("cases", "case_events", "outbox", "reminders"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM too, and a checkpoint: otherwise autovacuum (insert-triggered since
            # PostgreSQL 13) and the checkpointer work through the pre-fill during the
            # first measured phases, which are the bot's commands (command p99 3.3x the
            # floor in the first pairs, 1.6x in the last, on 29 Nov)
            conn.execute(text("VACUUM (ANALYZE)"))
            conn.execute(text("CHECKPOINT"))
    timings["finish_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    counts = {name: len(v) for name, v in rows.items()}
    counts["open_cases"] = n_open
    pending = sum(1 for r in rows["reminders"] if r["status"] == "pending")
    counts["pending_reminders"] = pending
    return {
        "counts": counts,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "max_case_id": n,
    }
