"""Cost of the quality manager's view (issue 14) at 100k cases: the KPI figures
(`bot.workflow.stats.compute`, SQL aggregates) for a month, a quarter and all three
years, and the recurrence search at intake (`bot.workflow.recurrence.find_similar`) and
the intake form's name suggestions.

    .venv/bin/python -m bench.stats [--cases 100000] [--runs 7] [--db sqlite|postgresql]

Targets: figures ≤ 1 s, similarity search ≤ 100 ms, on both databases. The cases are
inserted once per database (kept in /tmp/bench-stats-<n>.sqlite3, or in the PostgreSQL
database of BENCH_STATS_PG_URL, default bench_hd) with reports, reopen events and links;
prints the median and the worst of `runs` warm runs, and the first (cold) run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bot.db import migrate
from bot.models import Case, CaseEvent, Report, make_engine, make_session_factory
from bot.workflow.recurrence import find_similar, name_suggestions
from bot.workflow.stats import Period, compute

PG_URL = os.environ.get(
    "BENCH_STATS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_hd"
)
TZ = UTC
START = datetime(2023, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
CATEGORIES = "appearance dimension function material packaging labelling documents delivery service"
CAUSES = ["people", "machine", "material", "method", "environment"]
DEFECTS = [
    "solder bridges on U{n} pins {a}-{b}",
    "scratches on the front cover, {a} of {b} pieces",
    "housing {a}.{b} mm too wide at the flange",
    "label printed upside down on carton {n}",
    "display flickers after {a} minutes",
    "U{n} 引脚桥接，回流焊后发现 {a} 件",
    "外壳划伤 {a} 处，批次 {n}",
    "尺寸超差 {a}.{b} mm",
    "包装破损 {a} 箱",
    "connector {n} loose, {a} returns",
]


def rows(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cases, reports = [], []
    span = (NOW - START).total_seconds()
    for i in range(1, n + 1):
        received = START + timedelta(seconds=span * i / (n + 1))
        closed = rng.random() < 0.8
        ours = rng.random() < 0.85
        ca_due = received + timedelta(days=rng.choice([1, 1, 2, 3]))
        ca_done = received + timedelta(hours=rng.uniform(2, 80))
        desc = rng.choice(DEFECTS).format(
            n=rng.randint(1, 99), a=rng.randint(1, 9), b=rng.randint(1, 9)
        )
        cases.append(
            {
                "id": i,
                "ref": f"CC-B-{i:06d}",
                "status": "closed" if closed else "corrective",
                "is_open": not closed,
                "step": 5,
                "customer": f"Customer {rng.randint(1, 2000):04d}",
                "customer_contact": "",
                "product": f"P-{rng.randint(1, 5000):05d}",
                "lots": "L1",
                "quantity": rng.randint(1, 1000),
                "received_via": "email",
                "description": desc,
                "reporter_id": "U0MKT1",
                "received_at": received,
                "created_at": received,
                "responsibility": "ours" if ours else "customer",
                "severity": rng.choice("ABCC") if ours else None,
                "category": rng.choice(CATEGORIES.split()),
                "rework_count": 1 if rng.random() < 0.1 else 0,
                "ca_due_at": ca_due,
                "pa_due_at": ca_due + timedelta(days=2),
                "ca_done_at": ca_done if (closed or rng.random() < 0.5) else None,
                "pa_done_at": ca_done + timedelta(days=1) if closed else None,
                "closed_at": received + timedelta(days=rng.uniform(1, 60)) if closed else None,
                "linked_to_id": rng.randint(1, i - 1) if i > 10 and rng.random() < 0.03 else None,
                "units": [],
                "evidence": [],
            }
        )
        if ours and closed:
            reports.append(
                {
                    "case_id": i,
                    "kind": "corrective",
                    "version": 1,
                    "data": {"category": rng.choice(CAUSES), "why": ["why"]},
                    "author": "U0PROD1",
                    "created_at": ca_done,
                }
            )
    return cases, reports


def seed(url: str, n: int) -> Any:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:
        have = s.scalar(select(func.count(Case.id))) or 0
    if have == n:
        return sessions
    if have:
        raise SystemExit(f"{url} holds {have} cases, not {n}: drop it first")
    t0 = time.perf_counter()
    cases, reports = rows(n, random.Random(14))
    with sessions.begin() as s:
        for k in range(0, n, 5000):
            s.execute(insert(Case), cases[k : k + 5000])
        for k in range(0, len(reports), 5000):
            s.execute(insert(Report), reports[k : k + 5000])
        reopened = [
            {"case_id": c["id"], "at": c["received_at"], "actor": "U0TQ1", "kind": "reopen_case",
             "data": {}, "step": 9}
            for c in cases[::50]
        ]  # fmt: skip
        s.execute(insert(CaseEvent), reopened)
        if url.startswith("postgresql"):
            s.execute(text("SELECT setval('cases_id_seq', :n)"), {"n": n})
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"seeded {n} cases, {len(reports)} reports in {time.perf_counter() - t0:.1f} s")
    return sessions


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    t = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return cold, statistics.median(times), max(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    a = ap.parse_args()
    url = PG_URL if a.db == "postgresql" else f"sqlite:////tmp/bench-stats-{a.cases}.sqlite3"
    sessions = seed(url, a.cases)
    print(f"{a.db}: {a.cases} cases")
    periods = {
        "month": Period(date(2026, 2, 1), date(2026, 2, 28)),
        "quarter": Period(date(2025, 10, 1), date(2025, 12, 31)),
        "3 years": Period(date(2023, 3, 1), date(2026, 3, 31)),
    }
    for name, period in periods.items():
        with sessions() as s:
            cold, med, worst, f = timed(lambda p=period: compute(s, p, NOW, TZ), a.runs)
        print(
            f"  stats {name:8} ({f.total:6} cases): cold {cold * 1000:7.1f} ms, "
            f"median {med * 1000:7.1f} ms, worst {worst * 1000:7.1f} ms"
        )
    print(
        f"    e.g. corrective on time {f.ca_on_time}/{f.ca_due}, median close "
        f"{f.close_days_median} d, p90 {f.close_days_p90} d, recurrences {f.recurrences}, "
        f"causes {f.by_cause}"
    )
    rng = random.Random(7)
    probes = [
        Case(
            id=a.cases + 1 + i,
            customer=f"Customer {rng.randint(1, 2000):04d}",
            product=f"P-{rng.randint(1, 5000):05d}",
            description=rng.choice(DEFECTS).format(n=3, a=4, b=5),
        )
        for i in range(a.runs * 3)
    ]
    times, found = [], 0
    with sessions() as s:
        find_similar(s, probes[0])  # warm
        for probe in probes:
            t = time.perf_counter()
            found += find_similar(s, probe) is not None
            times.append(time.perf_counter() - t)
        print(
            f"  similarity search: median {statistics.median(times) * 1000:.1f} ms, "
            f"worst {max(times) * 1000:.1f} ms ({found}/{len(probes)} found a match)"
        )
        cold, med, worst, names = timed(lambda: name_suggestions(s, "customer", "custmer 12"), 5)
        print(
            f"  name suggestions: cold {cold * 1000:.1f} ms, median {med * 1000:.1f} ms, "
            f"worst {worst * 1000:.1f} ms ({len(names)} names)"
        )


if __name__ == "__main__":
    main()
