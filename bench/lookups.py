"""Look-ups that must not grow with history: a thread reply's case, and `/complaint show`.

    python -m bench.lookups [--db sqlite|postgresql|both] [--sizes 1000,10000,100000]

For each size, the database is pre-filled (bench/prefill.py) and, in this process, timed:

- thread reply: `Desk.case_for_thread(channel, ts)`, run for every threaded message in the
  complaints channel (cases(channel_id, card_ts), migration 0003);
- `/complaint show`: `Desk.find_case(ref)` with the whole case (events, reports, lot checks:
  lot_checks(case_id)) and its rendering, as the command handler does;
- a case's outbox rows, as `complaint-bot export` reads them (outbox(case_id)).

Each is the median of `--runs` calls over different cases. Then the three indexes of
migration 0003 are dropped and the same is timed again: the "without" column.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.common import COMPLAINTS, DEFAULT_PG_URL, bot_env, check_database_name
from bench.prefill import prefill, reset_database
from blocks.posts import case_detail
from bot.config import load_settings
from bot.models import Case, Outbox, make_engine, make_session_factory
from bot.workflow import Desk
from bot.workflow.view import LABELS, case_view

INDEXES = ("ix_cases_card", "ix_outbox_case", "ix_lot_checks_case")


def median_ms(fn: Callable[[int], Any], keys: list[Any]) -> float:
    times = []
    for key in keys:
        t0 = time.perf_counter()
        fn(key)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def measure(desk: Desk, cases: list[tuple[int, str, str]]) -> dict[str, float]:
    def show(i: int) -> None:
        case = desk.find_case(cases[i][1])
        case_detail(case_view(case, desk.now(), with_timeline=True), LABELS)

    def outbox_rows(i: int) -> None:
        with desk.readers() as s:
            list(s.scalars(select(Outbox.id).where(Outbox.case_id == cases[i][0])))

    keys = list(range(len(cases)))
    return {
        "thread_reply_ms": median_ms(lambda i: desk.case_for_thread(COMPLAINTS, cases[i][2]), keys),
        "show_ms": median_ms(show, keys),
        "case_outbox_ms": median_ms(outbox_rows, keys),
    }


def one_size(url: str, size: int, runs: int) -> dict[str, Any]:
    reset_database(url)
    engine = make_engine(url)
    try:
        prefill(engine, size, max(1, size // 10), datetime.now(UTC))
        settings = load_settings(bot_env(url, "http://127.0.0.1:9/api/"), dotenv=False)
        desk = Desk(make_session_factory(engine), settings)
        step = max(1, size // runs)
        with engine.connect() as conn:
            cases = [
                (r.id, r.ref, r.card_ts)
                for r in conn.execute(
                    select(Case.id, Case.ref, Case.card_ts).where(Case.id % step == 0).limit(runs)
                )
            ]
        with_ix = measure(desk, cases)
        with engine.begin() as conn:
            for name in INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
        without = measure(desk, cases)
    finally:
        engine.dispose()
    return {"size": size, "with": with_ix, "without": without}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lookups", description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--runs", type=int, default=100, help="cases timed per size (median)")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    print(
        "look-ups per size, median ms over different cases, with the indexes of migration "
        "0003 / without them (machine shared: figures noisy)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-lookups-") as tmp:
        dbs = []
        if args.db in ("sqlite", "both"):
            dbs.append(("sqlite", f"sqlite:///{Path(tmp) / 'lookups.sqlite3'}"))
        if args.db in ("postgresql", "both"):
            check_database_name(args.pg_url)
            dbs.append(("postgresql", args.pg_url))
        for name, url in dbs:
            print(
                f"{name:10} {'cases':>8} {'thread reply':>20} {'/complaint show':>20} "
                f"{'case outbox rows':>20}"
            )
            for size in sizes:
                r = one_size(url, size, args.runs)
                w, wo = r["with"], r["without"]
                print(
                    f"{'':10} {size:>8,} "
                    + " ".join(
                        f"{w[k]:>9.2f} / {wo[k]:>8.2f}"
                        for k in ("thread_reply_ms", "show_ms", "case_outbox_ms")
                    ),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
