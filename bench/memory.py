"""Memory of the whole bot, per process: `python -m bench.memory [--db sqlite|postgresql|both]`.

The bot runs as deployed (`python -m bot run` behind `bench.server`, against the lean fake
Slack): a supervisor, the web process, the worker and, while files are made, the worker's
records helper (bot/records/isolated.py). The PSS of each (`/proc/<pid>/smaps_rollup`,
shared pages divided among the sharers) and their sum, the budget of the developers'
guide (≤ 150 MB), are read at five points:

1. at rest, 10 s after the start;
2. after the read-heavy sequence of issue 10, 7(e): 30 × `/complaint show` of a case with
   600 events, 10 × the Home tab, then a 50-burst of submissions, drained;
3. after making files: `/complaint report` of that case (PDF), `/complaint register` (XLSX
   and CSV) and `/complaint stats` (matplotlib charts), delivered, the helper alive;
4. after a second report made by the warm helper (its time from the ack to delivered is
   printed: what a short idle time would cost when it has exited);
5. after the helper exits on its own (RECORDS_IDLE_SECONDS).

`bench.run` reads the same figure at the end of its load (point 2 only); this one is short
(a few minutes per database) and shows where the memory goes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import MKT, SECRET, TQ, check_database_name, descendants, pss_kb
from bench.lifecycle import GOOD
from bench.load import TimedClient, expect, run_phase
from bench.prefill import prefill, reset_database
from bench.run import (
    DEFAULT_PG_URL,
    RESULTS,
    TARGET_RSS_MB,
    Server,
    add_long_case,
    intake_view,
    pg_reachable,
    read_heavy,
    wait_until,
)
from bot.models import Inbox, Outbox, make_engine


def roles(app_pid: int) -> dict[str, int]:
    """The bot's processes by role: the supervisor is the app's pid; the worker is the
    niced child; the helper is the interpreter running bot.records.isolated."""
    out: dict[str, int] = {}
    for pid in descendants(app_pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, ValueError, IndexError):
            continue
        if pid == app_pid:
            out["supervisor"] = pid
        elif "bot.records.isolated" in cmd:
            out["helper"] = pid
        elif nice > 0:
            out["worker"] = pid
        else:
            out["web" if "web" not in out else f"other {pid}"] = pid
    return out


def snapshot(app_pid: int) -> dict[str, Any]:
    """PSS in MB per role and summed."""
    per = {role: round(pss_kb(pid) / 1024, 1) for role, pid in roles(app_pid).items()}
    return {"pss_mb": per, "sum_mb": round(sum(per.values()), 1)}


def line(label: str, snap: dict[str, Any]) -> str:
    per = ", ".join(f"{k} {v:.1f}" for k, v in snap["pss_mb"].items())
    ok = "PASS" if snap["sum_mb"] <= TARGET_RSS_MB else "MISS"
    return f"  {label:34} sum {snap['sum_mb']:6.1f} MB ({ok} <= {TARGET_RSS_MB:.0f})  [{per}]"


def add_report(engine: Any, case_id: int) -> None:
    """A corrective-action report on the long case, so `/complaint report` has a PDF to make."""
    from bot.models.case import Report

    data = {
        "why": ["the die wore", "no wear check", "no interval set", "", ""],
        "category": "machine",
        "actions": "Replace the die; add a wear check every 5,000 strokes. 更换模具",
        "owner": "U0PROD1",
        "planned": "2026-12-15",
        "disposition": "rework",
    }
    with engine.begin() as conn:
        conn.execute(
            Report.__table__.insert(),
            [{"case_id": case_id, "kind": "corrective", "version": 1, "data": data,
              "author": TQ, "created_at": datetime.now(UTC)}],
        )  # fmt: skip


def bench_database(name: str, url: str, args: argparse.Namespace, stamp: str) -> dict[str, Any]:
    check_database_name(url)
    print(f"\n=== {name}", flush=True)
    reset_database(url)
    engine = make_engine(url)
    res: dict[str, Any] = {"database": name, "loadavg_start": os.getloadavg()}

    def pending() -> int:
        with engine.connect() as conn:
            return sum(
                int(conn.scalar(select(func.count()).select_from(t).where(t.status == "pending")))
                for t in (Inbox, Outbox)
            )

    try:
        prefill(engine, args.cases, args.open, datetime.now(UTC))
        case_id, ref = add_long_case(engine, events=600)
        add_report(engine, case_id)
        bot = Server("bot", url, RESULTS / f"{stamp}-{name}-memory-bot.log")
        try:
            time.sleep(args.rest)
            res["at_rest"] = snapshot(bot.pid)
            print(line("at rest", res["at_rest"]), flush=True)

            rh = read_heavy(bot, engine, case_id, ref)
            client = TimedClient(bot.url + "/slack/events", SECRET)
            view = intake_view()
            run_phase(
                "submission",
                client,
                lambda c, i: expect(c.submit(MKT, view, {**GOOD, "customer": f"Acme m-{i}"})),
                range(args.burst),
                args.burst,
            )
            res["burst_drained_s"] = wait_until(lambda: pending() == 0, 300)
            res["show_p50_ms"] = rh["show"]["p50_ms"]
            res["after_reads"] = snapshot(bot.pid)
            print(line("after reads + 50-burst", res["after_reads"]), flush=True)

            for text in (f"report {ref}", "register", "stats"):
                expect(client.command(TQ, text), empty=False)
            res["files_s"] = wait_until(lambda: pending() == 0, 300)
            res["files_helper"] = snapshot(bot.pid)
            print(
                line(f"files made ({res['files_s']} s), helper alive", res["files_helper"]),
                flush=True,
            )
            t0 = time.perf_counter()
            expect(client.command(TQ, f"report {ref}"), empty=False)
            wait_until(lambda: pending() == 0, 300, interval=0.05)
            res["warm_report_s"] = round(time.perf_counter() - t0, 2)
            res["warm_report"] = snapshot(bot.pid)
            print(
                line(f"2nd report, warm ({res['warm_report_s']} s)", res["warm_report"]),
                flush=True,
            )
            gone = wait_until(lambda: "helper" not in roles(bot.pid), args.helper_wait, 0.5)
            res["helper_exit_s"] = gone
            time.sleep(1)
            res["helper_gone"] = snapshot(bot.pid)
            print(line(f"helper exited ({gone} s idle)", res["helper_gone"]), flush=True)
            t0 = time.perf_counter()
            expect(client.command(TQ, f"report {ref}"), empty=False)
            wait_until(lambda: pending() == 0, 300, interval=0.05)
            res["cold_report_s"] = round(time.perf_counter() - t0, 2)
            print(f"  a report with a new helper (cold): {res['cold_report_s']} s", flush=True)
        finally:
            bot.stop()
    finally:
        engine.dispose()
    res["loadavg_end"] = os.getloadavg()
    print(f"  load average {' / '.join(f'{x:.1f}' for x in res['loadavg_end'])}", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--cases", type=int, default=20_000)
    p.add_argument("--open", type=int, default=2_000)
    p.add_argument("--burst", type=int, default=50)
    p.add_argument("--rest", type=float, default=10.0, help="seconds after the start")
    p.add_argument("--helper-wait", type=float, default=120.0, help="longest wait for its exit")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    args = p.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"bot memory (PSS, MB) — {stamp}, {args.cases:,} cases ({args.open:,} open)")
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        dbs = []
        if args.db in ("sqlite", "both"):
            dbs.append(("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))
        if args.db in ("postgresql", "both"):
            ok, detail = pg_reachable(args.pg_url)
            if ok:
                dbs.append(("postgresql", args.pg_url))
            else:
                print(f"postgresql: skipped ({detail})")
        for name, url in dbs:
            out.append(bench_database(name, url, args, stamp))
    path = RESULTS / f"{stamp}-memory.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
