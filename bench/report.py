"""Cost of the records that leave Slack (issue 13): the improvement report of a case with
600 timeline events, rendered as the worker does (`bot.records.make.Maker`), off the
request path.

    .venv/bin/python -m bench.report [--events 600] [--runs 5] [--db sqlite|postgresql]

Prints, for the 8D report, the full record (timeline PDF) and the whole archive (report +
record + JSON): the first render in a fresh process (imports fpdf2 and fontTools and reads
the prepared font), then the median and the worst of `runs` warm renders; pages and
bytes; the process's peak memory before and after, and the PSS of this process and of the
records helper at rest, after the first report and after the runs. The font's prepared
cut is made once per machine (bot/records/fonts.py); its one-time cost is printed too when
it is made here.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bot.config import load_settings
from bot.db import migrate
from bot.models import make_engine, make_session_factory
from bot.workflow import Actor, Desk, IntakeForm, Role, validate_intake

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
TQ = Actor("U0TQ1", frozenset({Role.QUALITY}))
MKT = Actor("U0MKT1", frozenset({Role.MARKETING}))
MGR = Actor("U0MGR1", frozenset({Role.MANAGEMENT}))
PROD = Actor("U0PROD1", units=frozenset({"production"}))
CA = {
    "category": "machine",
    "why": "锡膏桥接\n钢网磨损\n没有钢网寿命管理",
    "disposition": "rework",
    "actions": "更换钢网; 返工 L0211-L0212",
    "owner": "U0PROD1",
    "planned": "2026-03-30",
    "escape": "AOI 程序未覆盖 U3",
}
PA = {"m_machine": "钢网寿命计数, 2 万次强制更换", "documents": ["control_plan", "fmea"]}


def settings(url: str) -> Any:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench",
        "COMPLAINTS_CHANNEL": "C0BENCH",
        "DATABASE_URL": url,
        "LANGUAGE": os.environ.get("LANGUAGE", "zh-CN"),
        "REPORT_BILINGUAL": os.environ.get("REPORT_BILINGUAL", "false"),
    }
    return load_settings(env, dotenv=False)


def case_with_events(desk: Desk, events: int) -> int:
    """A closed case whose timeline has `events` entries: the procedure's steps, one
    rejection, and thread replies (with files) for the rest."""
    form = IntakeForm(
        customer="苏州精密电子有限公司",
        contact="李伟",
        product="PCB-7731 rev C",
        lots="L0211, L0212",
        quantity="1200",
        via="email",
        description="U3 引脚 4-5 桥接, found at incoming inspection",
        evidence=[{"id": "F0PHOTO01", "name": "桥接照片.jpg"}],
    )
    case = desk.file_complaint(validate_intake(form, today=NOW.date()), MKT, NOW)
    steps = [
        ("confirm_information", TQ, {}),
        ("decide_responsibility", TQ, {"party": "ours", "units": ["production"], "reason": "r"}),
        ("classify_severity", TQ, {"severity": "A"}),
        ("record_containment", PROD, {"actions": "冻结库存"}),
        ("submit_corrective_action", PROD, CA),
        ("submit_preventive_action", PROD, PA),
        ("reject_report", MGR, {"reason": "Why-why stops too early"}),
        ("submit_corrective_action", PROD, CA),
        ("submit_preventive_action", PROD, PA),
        ("approve_report", MGR, {}),
        ("send_to_customer", TQ, {"method": "email"}),
        ("record_customer_acceptance", MKT, {"accepted": "yes"}),
    ]
    at = NOW
    for name, actor, data in steps:
        at += timedelta(minutes=7)
        desk.take(name, case.id, actor, at, data)
    for i in range(events - len(steps) - 2):
        at += timedelta(minutes=3)
        files = [{"id": f"F{i:08d}", "name": f"照片-{i}.jpg"}] if i % 10 == 0 else []
        desk.add_comment(
            case.id,
            PROD if i % 2 else TQ,
            at,
            text=f"第 {i} 条讨论: 钢网检查结果, SPI 数据 {i * 7 % 100} µm — reply {i}",
            message_ts=f"1772500000.{i:06d}",
            files=files,
        )
    desk.take(
        "close_case",
        case.id,
        TQ,
        at,
        {"criterion": "A", "evidence": "SPI data of 3 lots", "no_negative_impact": ["yes"]},
    )
    return case.id


CPU: dict[str, list[float]] = {}


def timed(fn: Any, kind: str = "") -> tuple[float, Any]:
    """Wall time; the CPU time this process spent is kept in CPU[kind] (less sensitive to
    other work on the machine than the wall time)."""
    c, t = time.process_time(), time.perf_counter()
    out = fn()
    CPU.setdefault(kind, []).append(time.process_time() - c)
    return time.perf_counter() - t, out


def pss() -> tuple[float, float]:
    """PSS in MB of this process (as the worker) and of its children (the records
    helper): the bot's memory target is on the sum over its processes."""
    from bench.common import tree_status

    tree = tree_status(os.getpid())
    me = sum(p["Pss"] for p in tree["processes"] if p["pid"] == os.getpid())
    return me / 1024, (tree["Pss"] - me) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    if args.db == "postgresql":
        url = os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
        )
        if url.rsplit("/", 1)[-1] in ("test", "postgres", "template0", "template1"):
            raise SystemExit(f"refusing to drop the schema of {url}")
        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench-report.sqlite3"
    s = settings(url)
    engine = make_engine(url)
    migrate(engine)
    desk = Desk(make_session_factory(engine), s, clock=lambda: NOW)
    case_id = case_with_events(desk, args.events)
    timeline = len(desk.get_case(case_id).events)

    from bot.records.fonts import find_font, prepared
    from bot.records.make import Maker

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pss_rest = pss()
    maker = Maker(desk, lambda uid: {"U0PROD1": "张伟", "U0MGR1": "王建国"}.get(uid, uid))
    cut, _ = timed(lambda: prepared(find_font(s.report_font)))
    first, report = timed(lambda: maker.report(case_id), "first")
    pss_first = pss()
    kinds = {
        "report": lambda: maker.report(case_id),
        "archive": lambda: maker.archive(case_id),
    }
    warm: dict[str, list[float]] = {k: [] for k in kinds}
    made: dict[str, Any] = {}
    for _ in range(args.runs):
        for k, fn in kinds.items():
            dt, made[k] = timed(fn, k)
            warm[k].append(dt)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pss_after = pss()
    from bot.records import content, isolated, pdf

    isolated.close()
    # the same rendering in this process, for its CPU time (the helper's is not counted
    # above); it is the figure least changed by other work on the machine
    case = desk.get_case(case_id)
    doc = content.improvement_report(
        case, desk.case_files(case_id), maker.names, desk.tz, maker.words
    )
    font = find_font(s.report_font)
    pdf.render(doc, font)  # imports and font read, not counted
    for _ in range(args.runs):
        timed(lambda: pdf.render(doc, font), "in-process")

    import io

    from pypdf import PdfReader

    def pages(b: bytes) -> int:
        return len(PdfReader(io.BytesIO(b)).pages)

    load = os.getloadavg()[0]
    print(f"bench.report — {args.db}, case with {timeline} timeline events, {s.language}")
    print(
        f"  machine load (1 min) at the end: {load:.1f} on {os.cpu_count()} cores "
        "(other work on the machine slows every figure)"
    )
    print(f"  prepared font cut (once per machine; 0 when already made): {cut:.2f} s")
    print(f"  first report (starts the helper, which loads fpdf2 and the font): {first:.2f} s")
    for k, ts in warm.items():
        print(
            f"  {k:8s} warm: median {statistics.median(ts):.2f} s, worst {max(ts):.2f} s "
            f"over {len(ts)} runs (through the helper process, as the worker does)"
        )
    print(
        f"  report rendered in this process: CPU median "
        f"{statistics.median(CPU['in-process']):.2f} s, worst {max(CPU['in-process']):.2f} s"
    )
    archive = made["archive"]
    print(f"  report: {pages(report.content)} pages, {len(report.content) / 1024:.0f} KiB")
    print(
        f"  record (timeline) PDF: {pages(archive[1].content)} pages, "
        f"{len(archive[1].content) / 1024:.0f} KiB; JSON {len(archive[2].content) / 1024:.0f} KiB"
    )
    print(
        f"  peak RSS of this process: {rss_before:.0f} MiB before making files, "
        f"{rss_after:.0f} MiB after (files made in the helper)"
    )
    for when, (me, helper) in (
        ("at rest (no file made yet)", pss_rest),
        ("after the first report", pss_first),
        ("after all the runs", pss_after),
    ):
        print(
            f"  PSS {when}: this process {me:.1f} MB + records helper {helper:.1f} MB "
            f"= {me + helper:.1f} MB"
        )
    wall, cpu = statistics.median(warm["report"]), statistics.median(CPU["in-process"])
    print(
        f"  target report ≤ 1 s (warm, in the worker): wall {'met' if wall <= 1 else 'NOT met'}"
        f", CPU {'met' if cpu <= 1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
