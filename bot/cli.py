"""`complaint-bot run | migrate | doctor | export | report | register`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.records.make import Maker
    from bot.workflow import Desk

log = logging.getLogger("bot")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        print("Copy .env.example to .env and fill it in; see the README.", file=sys.stderr)
        raise SystemExit(2) from exc


def cmd_migrate(_: argparse.Namespace) -> int:
    from bot.db import migrate, schema_status
    from bot.models import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    current, head = schema_status(engine)
    print(f"database at revision {current} (latest {head})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.supervisor import run

    return run(_settings(), args.host)


def cmd_export(args: argparse.Namespace) -> int:
    """Print a case's full record as JSON (for an auditor, or the archive)."""
    import json

    from bot.models import make_engine, make_session_factory
    from bot.workflow import Desk, NotFound

    settings = _settings()
    desk = Desk(make_session_factory(make_engine(settings.database_url)), settings)
    try:
        record = desk.export_case(args.ref)
    except NotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2, default=str))
    return 0


def _read_only_settings() -> Settings:
    """Settings for the read-only commands, which need only DATABASE_URL: the Slack
    settings may be missing (placeholders fill them; no Slack call is made unless a real
    bot token is set, and then only users.info, for people's names)."""
    import os

    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True), override=False)
    env = dict(os.environ)
    for key, placeholder in (
        ("SLACK_BOT_TOKEN", "xoxb-not-needed"),
        ("SLACK_SIGNING_SECRET", "not-needed"),
        ("COMPLAINTS_CHANNEL", "C0NOTNEEDED"),
    ):
        if not env.get(key, "").strip():
            env[key] = placeholder
    try:
        return load_settings(env, dotenv=False)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc


def _records(settings: Settings) -> tuple[Desk, Maker]:
    """The desk and a file maker; names through Slack when a real token is set."""
    from bot.models import make_engine, make_session_factory
    from bot.records.make import Maker
    from bot.workflow import Desk

    desk = Desk(make_session_factory(make_engine(settings.database_url)), settings)
    names = _no_names
    if settings.slack_bot_token != "xoxb-not-needed":
        from bot.slack.directory import Directory
        from bot.slack.gateway import Gateway

        gateway = Gateway(settings.slack_bot_token, settings.slack_api_url)
        names = Directory(settings, gateway).name
    return desk, Maker(desk, names)


def _no_names(user_id: str) -> str:
    return user_id


def cmd_report(args: argparse.Namespace) -> int:
    """Write a case's improvement report (PDF)."""
    from bot.workflow import NotFound

    desk, maker = _records(_read_only_settings())
    try:
        case = desk.find_case(args.ref)
    except NotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    f = maker.report(case.id)
    out = args.output or f.filename
    with open(out, "wb") as fh:
        fh.write(f.content)
    print(f"{out}: {f.title}, {len(f.content)} bytes")
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    """Write the complaint register: XLSX, or CSV (UTF-8 with BOM) for a .csv file name."""
    from datetime import date

    from bot.workflow import InvalidInput
    from bot.workflow.records import parse_register_query

    settings = _read_only_settings()
    desk, maker = _records(settings)
    words = []
    if args.date_from or args.date_to:
        words.append(f"{args.date_from or args.date_to}..{args.date_to or args.date_from}")
    words += args.filters
    try:
        query = parse_register_query(" ".join(words), date.today())
    except InvalidInput as exc:
        print(" ".join(exc.errors.values()), file=sys.stderr)
        return 2
    xlsx, csv_file = maker.register(query)
    f = csv_file if (args.output or "").lower().endswith(".csv") else xlsx
    out = args.output or f.filename
    with open(out, "wb") as fh:
        fh.write(f.content)
    print(f"{out}: {f.title}, {len(f.content)} bytes")
    return 0


def cmd_doctor(_: argparse.Namespace) -> int:
    from bot.doctor import run_checks

    try:
        settings = load_settings()
    except SettingsError as exc:
        print("✗ settings\n" + "\n".join(f"    {p}" for p in exc.problems))
        return 1
    ok = True
    for check in run_checks(settings):
        mark = "✓" if check.ok else "✗"
        print(f"{mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"    fix: {check.fix}")
        ok &= check.ok
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="complaint-bot", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="migrate the database and run the bot")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")
    run.set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("doctor", help="check a deployment and say what to fix").set_defaults(
        func=cmd_doctor
    )
    export = sub.add_parser("export", help="print a case's full record as JSON")
    export.add_argument("ref", help="the case reference, e.g. CC-2026-0001")
    export.set_defaults(func=cmd_export)
    report = sub.add_parser("report", help="write a case's improvement report as a PDF")
    report.add_argument("ref", help="the case reference, e.g. CC-2026-0001")
    report.add_argument("-o", "--output", help="the PDF file to write (default: its own name)")
    report.set_defaults(func=cmd_report)
    reg = sub.add_parser("register", help="write the complaint register (XLSX or CSV)")
    reg.add_argument("--from", dest="date_from", help="first day received, YYYY-MM-DD")
    reg.add_argument("--to", dest="date_to", help="last day received, YYYY-MM-DD")
    reg.add_argument("-o", "--output", help="FILE.xlsx, or FILE.csv for CSV")
    reg.add_argument(
        "filters", nargs="*", help="customer:… product:… severity:A status:open|closed unit:…"
    )
    reg.set_defaults(func=cmd_register)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
