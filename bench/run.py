"""Benchmark of the complaint desk: latency under concurrent Slack traffic on a database of
100,000 cases, against the floor of a bare Bolt app; tick time; memory; Slack calls per
complaint. See bench/README.md.

    python -m bench.run [--db sqlite|postgresql|both] [--cases 100000] [--open 10000]
                        [--requests 400] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.common import (
    COMPLAINTS,
    DEFAULT_PG_URL,
    MKT,
    SECRET,
    TQ,
    check_database_name,
    tree_status,
)
from bench.common import proc_status as read_proc
from bench.lifecycle import GOOD, count_calls_per_complaint
from bench.load import TimedClient, expect, run_phase
from bench.prefill import prefill, reset_database
from bench.tick import load_run_tick, measure_tick
from blocks.intake import intake_modal
from bot.models import Case, Inbox, Outbox, make_engine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("command", "click", "submission")
KIND_LABELS = {
    "command": "/complaint new (slash command)",
    "click": "step:confirm_information (button)",
    "submission": "intake form (view submission)",
}
TARGET_P99_MS = 300.0
TARGET_FLOOR_RATIO = 3.0
TARGET_TICK_MS = 100.0
TARGET_RSS_MB = 150.0


# --- the machine ---------------------------------------------------------------------------


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def code_digest() -> str:
    """A fingerprint of the code measured (bot/ and blocks/ sources), for comparing runs."""
    h = hashlib.sha256()
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("blocks/**/*.py")]):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def machine() -> dict[str, Any]:
    cpu = ""
    mem_kb = 0
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
        with open("/proc/meminfo") as fh:
            mem_kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlalchemy": _pkg("SQLAlchemy"),
        "slack_bolt": _pkg("slack-bolt"),
        "slack_sdk": _pkg("slack-sdk"),
        "waitress": _pkg("waitress"),
        "psycopg": _pkg("psycopg"),
        "alembic": _pkg("alembic"),
        "sqlite": sqlite3.sqlite_version,
        "code_sha256": code_digest(),
    }


def pg_reachable(url: str) -> tuple[bool, str]:
    """Can we reach the server (through its `postgres` database: ours may not exist yet)?"""
    u = make_url(url)
    engine = create_engine(u.set(database="postgres"), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            return True, str(conn.scalar(text("SHOW server_version")))
    except Exception as exc:  # noqa: BLE001 - any failure means skip
        return False, f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        engine.dispose()


# --- the server process --------------------------------------------------------------------


class Server:
    """`python -m bench.server` in its own process; stops when its stdin is closed."""

    def __init__(self, mode: str, database_url: str, log_path: Path) -> None:
        self.mode = mode
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "bench.server", "--mode", mode]
        if database_url:
            cmd += ["--database-url", database_url]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(ln) for ln in self.proc.stdout or []], daemon=True
        ).start()
        try:
            first = lines.get(timeout=120)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"{mode} server did not start; see {log_path}") from None
        if not first.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{mode} server said {first!r}; see {log_path}")
        words = first.split()  # PORT <app port> STATS <stats port> PID <app pid>
        self.port, self.stats_port, self.app_pid = int(words[1]), int(words[3]), int(words[5])
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.app_pid

    def proc_status(self) -> dict[str, Any]:
        """The app's processes (for the bot: supervisor, web and worker), not the fake."""
        return tree_status(self.app_pid)

    def stats(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.stats_port}/bench/stats"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())

    def log_problems(self) -> dict[str, int]:
        text_ = self.log_path.read_text(errors="replace")
        lines = text_.splitlines()
        return {
            "error_lines": sum(" ERROR " in ln for ln in lines),
            "warning_lines": sum(" WARNING " in ln for ln in lines),
            # waitress warns when requests wait for one of its 16 threads
            "waitress_queue_warnings": sum("Task queue depth" in ln for ln in lines),
            "tracebacks": text_.count("Traceback (most recent call last)"),
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        self._log.close()


# --- the load ------------------------------------------------------------------------------


def intake_view() -> dict[str, Any]:
    """The intake modal as Slack would echo it back (a JSON round trip, like the fake)."""
    return json.loads(json.dumps(intake_modal(channel_id=COMPLAINTS)))


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def background_busy(seconds: float = 2.0) -> float:
    """How busy the machine is while the bench does nothing (others' processes, a database
    still vacuuming): the run's figures are only comparable when this is near 0."""
    busy0, total0 = machine_cpu()
    time.sleep(seconds)
    busy1, total1 = machine_cpu()
    return round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)


def load_phases(
    server: Server,
    args: argparse.Namespace,
    targets: Callable[[], list[tuple[int, int, str]]],
    settle: Callable[[str, int], float | None] | None = None,
) -> dict[str, Any]:
    """For each kind, one kind at a time: a warm-up, the measured concurrent phase, then
    `args.serial` requests from a single client (the latency without queueing). Kinds in
    order: commands, intake submissions, then clicks on `targets()` (the cases the
    submissions filed). With `settle`, the work a phase queued (outbox deliveries, steps
    taken after the ack) is waited for before the next one starts, and its CPU counted."""
    client = TimedClient(server.url + "/slack/events", SECRET)
    view = intake_view()
    warm, n, conc, serial = args.warmup, args.requests, args.concurrency, args.serial
    out: dict[str, Any] = {"concurrent": {}, "serial": {}, "cpu": {}, "drain_s": {}}

    def measured(kind: str, request: Any) -> None:
        run_phase(kind, client, request, range(0, warm), conc)  # warm-up
        if settle:
            settle(kind, warm)
        me0, srv0, (busy0, total0) = read_proc(), server.proc_status(), machine_cpu()
        res = run_phase(kind, client, request, range(warm, warm + n), conc)
        me1, srv1, (busy1, total1) = read_proc(), server.proc_status(), machine_cpu()
        out["concurrent"][kind] = res
        srv_ms = srv1.get("cpu_ms", 0) - srv0.get("cpu_ms", 0)
        me_ms = me1.get("cpu_ms", 0) - me0.get("cpu_ms", 0)
        # the rest of the machine's busy time: the database server, the kernel, the rest
        busy_ms = (busy1 - busy0) * 1000 / os.sysconf("SC_CLK_TCK")
        cpu = {
            "server_ms_per_request": round(srv_ms / n, 2),
            "server_sys_ms_per_request": round(
                (srv1.get("cpu_sys_ms", 0) - srv0.get("cpu_sys_ms", 0)) / n, 2
            ),
            "client_ms_per_request": round(me_ms / n, 2),
            "other_ms_per_request": round(max(0.0, busy_ms - srv_ms - me_ms) / n, 2),
            "machine_busy_pct": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
        }
        if settle:
            out["drain_s"][kind] = settle(kind, warm + n)
            srv2 = server.proc_status()
            cpu["server_ms_per_request_with_background"] = round(
                (srv2.get("cpu_ms", 0) - srv0.get("cpu_ms", 0)) / n, 2
            )
        out["cpu"][kind] = cpu
        if serial:
            rng = range(warm + n, warm + n + serial)
            out["serial"][kind] = run_phase(kind, client, request, rng, 1)
            if settle:
                settle(kind, warm + n + serial)

    measured("command", lambda c, i: expect(c.command(MKT, "new")))
    measured("submission", lambda c, i: expect(c.submit(MKT, view, GOOD)))
    cases = targets()

    def click(c: TimedClient, i: int) -> None:
        case_id, step, ts = cases[i]
        expect(c.click(TQ, "step:confirm_information", f"{case_id}:{step}", message_ts=ts))

    measured("click", click)
    return out


def wait_until(check: Any, timeout: float, interval: float = 0.2) -> float | None:
    """Seconds until check() is true, or None after `timeout` (bounded loop)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if check():
            return round(time.perf_counter() - t0, 2)
        time.sleep(interval)
    return None


# --- one database --------------------------------------------------------------------------


def bench_database(name: str, url: str, args: argparse.Namespace, stamp: str) -> dict[str, Any]:
    check_database_name(url)
    res: dict[str, Any] = {
        "database": name,
        "url": make_url(url).render_as_string(),
        "concurrency": args.concurrency,
    }
    print(f"\n=== {name}: {url}")
    reset_database(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            res["server_version"] = (
                str(conn.scalar(text("SHOW server_version")))
                if engine.dialect.name == "postgresql"
                else sqlite3.sqlite_version
            )
        print(f"pre-filling {args.cases:,} cases ({args.open:,} open) ...", flush=True)
        pf = prefill(engine, args.cases, args.open, datetime.now(UTC))
        res["prefill"] = pf
        c, tm = pf["counts"], pf["timings"]
        print(
            f"pre-fill: {tm['total_s']:.1f} s (generate {tm['generate_s']:.1f} s, insert "
            f"{tm['insert_s']:.1f} s) — {c['cases']:,} cases, {c['case_events']:,} events, "
            f"{c['outbox']:,} outbox rows, {c['reminders']:,} reminders "
            f"({c['pending_reminders']:,} pending)"
        )
        max_id = pf["max_case_id"]

        def pending_outbox() -> int:
            """Work still queued: requests acked but not yet done, and Slack effects."""
            with engine.connect() as conn:
                return sum(
                    int(
                        conn.scalar(
                            select(func.count()).select_from(t).where(t.status == "pending")
                        )
                        or 0
                    )
                    for t in (Inbox, Outbox)
                )

        filed: list[tuple[int, int, str]] = []

        def click_targets() -> list[tuple[int, int, str]]:
            """The cases the submissions filed, still waiting for TQ (all of them)."""
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Case.id, Case.step, Case.card_ts)
                    .where(Case.id > max_id, Case.status == "received")
                    .order_by(Case.id)
                ).all()
            filed[:] = [(r.id, r.step, r.card_ts or "1.1") for r in rows]
            return filed

        def settle(kind: str, clicked: int) -> float | None:
            """Wait for the work the requests so far queued: deliveries, and for clicks
            the step each click takes after its ack."""
            ids = [t[0] for t in filed[:clicked]] if kind == "click" else []

            def done() -> bool:
                if pending_outbox():
                    return False
                if not ids:
                    return True
                with engine.connect() as conn:
                    left = conn.scalar(
                        select(func.count()).where(Case.id.in_(ids), Case.status == "received")
                    )
                return not left and pending_outbox() == 0

            return wait_until(done, args.drain_timeout)

        # --- the bot -----------------------------------------------------------------------
        t_wait = time.perf_counter()
        res["background_busy_pct"] = background_busy()
        while res["background_busy_pct"] > 10 and time.perf_counter() - t_wait < args.wait_quiet:
            res["background_busy_pct"] = background_busy()  # others' work; wait (bounded)
        res["waited_for_quiet_s"] = round(time.perf_counter() - t_wait, 1)
        res["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        if res["background_busy_pct"] > 10:
            print(
                f"WARNING: the machine is {res['background_busy_pct']}% busy with other work "
                "before the load; latencies will be worse than on a quiet machine",
                flush=True,
            )
        print("bot server: starting ...", flush=True)
        bot = Server("bot", url, RESULTS / f"{stamp}-{name}-bot.log")
        try:
            res["bot_start"] = bot.proc_status()
            phases = load_phases(bot, args, click_targets, settle)
            with engine.connect() as conn:
                res["cases_filed"] = int(
                    conn.scalar(select(func.count()).where(Case.id > max_id)) or 0
                )
                res["clicked_cases_moved"] = int(
                    conn.scalar(
                        select(func.count()).where(Case.id > max_id, Case.status != "received")
                    )
                    or 0
                )
            res["bot"] = {k: phases["concurrent"][k].summary() for k in KINDS}
            res["bot_serial"] = {k: v.summary() for k, v in phases["serial"].items()}
            res["bot_cpu"] = phases["cpu"]
            res["bot_drain_s"] = phases["drain_s"]
            res["bot_end"] = bot.proc_status()
            res["bot_stats"] = bot.stats()
        finally:
            bot.stop()
        res["bot_log"] = {"path": str(bot.log_path), **bot.log_problems()}

        # --- the floor ---------------------------------------------------------------------
        # the same quiet start as the bot's (PostgreSQL may still be vacuuming the pre-fill)
        t_wait = time.perf_counter()
        res["floor_background_busy_pct"] = background_busy()
        while (
            res["floor_background_busy_pct"] > 10 and time.perf_counter() - t_wait < args.wait_quiet
        ):
            res["floor_background_busy_pct"] = background_busy()
        print("floor server: starting ...", flush=True)
        floor = Server("floor", "", RESULTS / f"{stamp}-{name}-floor.log")
        try:
            fphases = load_phases(floor, args, lambda: filed)
            res["floor"] = {k: fphases["concurrent"][k].summary() for k in KINDS}
            res["floor_serial"] = {k: v.summary() for k, v in fphases["serial"].items()}
            res["floor_cpu"] = fphases["cpu"]
            res["floor_end"] = floor.proc_status()
        finally:
            floor.stop()
        res["floor_log"] = {"path": str(floor.log_path), **floor.log_problems()}

        # --- the tick ----------------------------------------------------------------------
        if load_run_tick() is None:
            res["tick"] = {"available": False}
        else:
            print("tick: measuring ...", flush=True)
            res["tick"] = measure_tick(engine, url, runs=args.tick_runs, due=args.tick_due)
    finally:
        engine.dispose()
    return res


# --- report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets_for(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for k in KINDS:
        b, f = r["bot"][k], r["floor"][k]
        out.append(
            {
                "target": f"{k}: p99 < {TARGET_P99_MS:.0f} ms",
                "value": b["p99_ms"],
                "pass": b["p99_ms"] < TARGET_P99_MS and b["errors"] == 0,
            }
        )
        ratio = b["p99_ms"] / f["p99_ms"] if f["p99_ms"] else float("inf")
        out.append(
            {
                "target": f"{k}: p99 <= {TARGET_FLOOR_RATIO:.0f}x floor p99",
                "value": round(ratio, 2),
                "pass": ratio <= TARGET_FLOOR_RATIO,
            }
        )
    tick = r.get("tick", {})
    if tick.get("available"):
        for key, label in (("nothing_due_median_ms", "nothing due"), ("due_median_ms", "")):
            label = label or f"{tick['due']} due"
            out.append(
                {
                    "target": f"tick ({label}) < {TARGET_TICK_MS:.0f} ms",
                    "value": tick[key],
                    "pass": tick[key] < TARGET_TICK_MS,
                }
            )
    end = r.get("bot_end", {})
    # the bot is three processes forked from one (bot/supervisor.py): PSS counts each page
    # they share once, so its sum is the memory the bot occupies; RSS summed counts shared
    # pages in every process and is shown beside it
    mb = end.get("Pss", 0) / 1024
    out.append(
        {
            "target": f"bot memory (PSS, all processes) < {TARGET_RSS_MB:.0f} MB",
            "value": round(mb, 1),
            "pass": 0 < mb < TARGET_RSS_MB,
        }
    )
    return out


def print_database(r: dict[str, Any]) -> None:
    print(f"\n--- {r['database']} ({r.get('server_version', '')}) ---")
    print(
        f"machine before the load: {r['background_busy_pct']}% busy with other work (after "
        f"waiting {r['waited_for_quiet_s']} s for quiet), load average {r['loadavg']}"
    )
    pf = r["prefill"]
    print(
        f"pre-fill: {pf['timings']['total_s']:.1f} s for {pf['counts']['cases']:,} cases "
        f"({pf['counts']['open_cases']:,} open)"
    )
    hdr = f"{'request':36} {'':6} {'n':>5} {'err':>4} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"
    print(f"concurrent: {r['concurrency']} clients; latency in ms")
    print(hdr + f" {'rps':>6}  CPU ms per request: server client other  (machine busy)")
    for k in KINDS:
        for who in ("bot", "floor"):
            s = r[who][k]
            cpu = r[f"{who}_cpu"][k]
            print(
                f"{KIND_LABELS[k] if who == 'bot' else '':36} {who:6} {s['count']:>5} "
                f"{s['errors']:>4} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} {s['p99_ms']:>8.1f} "
                f"{s['max_ms']:>8.1f} {s['throughput_rps']:>6.1f} "
                f"{'':21}{cpu['server_ms_per_request']:>6.1f} {cpu['client_ms_per_request']:>6.1f} "
                f"{cpu['other_ms_per_request']:>5.1f}  ({cpu['machine_busy_pct']:.0f}%)"
            )
        b, f = r["bot"][k], r["floor"][k]
        print(
            f"{'':36} {'ratio':6} {'':>5} {'':>4} {b['p50_ms'] / f['p50_ms']:>7.1f}x "
            f"{'':>8} {b['p99_ms'] / f['p99_ms']:>7.1f}x"
        )
    if r.get("bot_serial"):
        print("one client at a time (no queueing): p50 / p99 ms")
        for k in KINDS:
            b, f = r["bot_serial"][k], r["floor_serial"][k]
            print(
                f"  {KIND_LABELS[k]:36} bot {b['p50_ms']:>6.1f} / {b['p99_ms']:>6.1f} "
                f"(err {b['errors']})   floor {f['p50_ms']:>6.1f} / {f['p99_ms']:>6.1f}"
            )
    d = r["bot_drain_s"]
    print(
        f"work done: {r['cases_filed']} cases filed, {r['clicked_cases_moved']} of them moved on "
        f"by the clicks; the bot's background work (outbox deliveries, steps after the ack) "
        f"finished {d.get('command')} / {d.get('submission')} / {d.get('click')} s after the "
        "command / submission / click phase; server CPU per request including it: "
        + ", ".join(
            f"{k} {r['bot_cpu'][k].get('server_ms_per_request_with_background')} ms" for k in KINDS
        )
    )
    st = r.get("bot_stats", {})
    print(
        f"fake Slack (its own process): {sum(st.get('fake_calls', {}).values())} calls "
        f"{st.get('fake_calls', {})}, failed {st.get('fake_failed', {})}, "
        f"its CPU {st.get('fake_process', {}).get('cpu_ms', 0)} ms\n"
        f"server logs: bot {r['bot_log']}, floor {r['floor_log']}"
    )
    tick = r.get("tick", {})
    if not tick.get("available"):
        print("tick: not available")
    else:
        print(
            f"tick: nothing due median {tick['nothing_due_median_ms']} ms "
            f"{tick['nothing_due_ms']}; {tick['due']} due median {tick['due_median_ms']} ms "
            f"{tick['due_ms']} (sent {tick['due_sent'][0]}, outbox rows "
            f"{tick['due_outbox_rows'][0]} per tick); first tick {tick['first_ms']} ms"
            + (
                f"; morning digest query {tick['digest_payload_median_ms']} ms "
                f"({tick['digest_overdue_total']} overdue, {tick['digest_due_today_total']} due "
                "today)"
                if "digest_payload_median_ms" in tick
                else ""
            )
        )
    s0, s1 = r.get("bot_start", {}), r.get("bot_end", {})

    def procs(st: dict[str, Any]) -> str:
        return ", ".join(
            f"{p['VmRSS'] / 1024:.1f}/{p['Pss'] / 1024:.1f}" for p in st.get("processes", [])
        )

    print(
        f"bot memory (supervisor, worker, web): PSS {s0.get('Pss', 0) / 1024:.1f} MB at start, "
        f"{s1.get('Pss', 0) / 1024:.1f} MB after the run; RSS summed "
        f"{s1.get('VmRSS', 0) / 1024:.1f} MB; per process RSS/PSS MB after the run "
        f"[{procs(s1)}], highest VmHWM {s1.get('VmHWM_max', 0) / 1024:.1f} MB; floor "
        f"RSS {r.get('floor_end', {}).get('VmRSS', 0) / 1024:.1f} MB"
    )
    print("targets:")
    for t in r["targets"]:
        print(f"  {verdict(t['pass'])}  {t['target']:42} {t['value']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--open", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=1000, help="measured requests per kind")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured requests per kind first")
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument(
        "--serial", type=int, default=50, help="then this many from one client per kind (0: none)"
    )
    p.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    p.add_argument("--tick-runs", type=int, default=5)
    p.add_argument("--tick-due", type=int, default=50)
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="before each database's load, wait up to this many seconds for the machine to be "
        "under 10%% busy with other work",
    )
    p.add_argument("--no-lifecycle", action="store_true", help="skip the calls-per-complaint walk")
    args = p.parse_args(argv)
    if not 0 < args.open <= args.cases:
        p.error("--open must be between 1 and --cases")
    if args.db != "sqlite":
        check_database_name(args.pg_url)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    t_start = time.perf_counter()
    info = machine()
    print(
        f"complaint desk benchmark — {info['date']}\n"
        f"machine: {info['nproc']} CPUs ({info['cpu_model']}), {info['ram_gib']} GiB RAM, "
        f"Linux {info['kernel']}\n"
        f"Python {info['python']}, SQLAlchemy {info['sqlalchemy']}, slack-bolt "
        f"{info['slack_bolt']}, slack-sdk {info['slack_sdk']}, waitress {info['waitress']}, "
        f"psycopg {info['psycopg']}, SQLite {info['sqlite']}\n"
        f"code: bot/ + blocks/ sha256 {info['code_sha256']}\n"
        f"load: {args.requests} requests per kind after {args.warmup} warm-up, "
        f"{args.concurrency} concurrent clients; {args.cases:,} cases, {args.open:,} open"
    )
    if load_run_tick() is None:
        print("tick: not available (bot.workflow.reminders.run_tick cannot be imported)")
    report: dict[str, Any] = {"machine": info, "args": vars(args), "databases": []}

    dbs: list[tuple[str, str]] = []
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    if args.db in ("sqlite", "both"):
        dbs.append(("sqlite", f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"))
    if args.db in ("postgresql", "both"):
        ok, detail = pg_reachable(args.pg_url)
        if ok:
            dbs.append(("postgresql", args.pg_url))
            report["postgresql_server"] = detail
        else:
            print(f"postgresql: skipped, unreachable at {args.pg_url} ({detail})")
            report["postgresql_skipped"] = detail
    try:
        for name, url in dbs:
            r = bench_database(name, url, args, stamp)
            r["targets"] = targets_for(r)
            report["databases"].append(r)
            print_database(r)
    finally:
        tmp.cleanup()

    if not args.no_lifecycle:
        print("\ncalls per complaint: walking one complaint to closure ...", flush=True)
        life = count_calls_per_complaint()
        report["calls_per_complaint"] = life
        print(
            f"Slack Web API calls for one complaint, /complaint new to closure "
            f"({life['steps']} steps, {life['signed_requests']} signed requests; "
            f"final status {life['final_status']}/{life['closure']}): {life['calls_total']} "
            f"{life['calls_by_method']}; of which at intake {life['calls_at_intake']} "
            f"{life['calls_at_intake_by_method']}"
        )

    report["wall_s"] = round(time.perf_counter() - t_start, 1)
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    misses = [
        f"{r['database']}: {t['target']} ({t['value']})"
        for r in report["databases"]
        for t in r["targets"]
        if not t["pass"]
    ]
    print(f"\nwhole run: {report['wall_s']} s; results: {out.relative_to(ROOT)}")
    if not report["databases"]:
        print("no database was benchmarked")
        return 1
    print("all targets met" if not misses else "targets missed:\n  " + "\n  ".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
