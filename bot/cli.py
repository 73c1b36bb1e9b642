"""`complaint-bot run | migrate | doctor | export | report | register | sandbox`."""

from __future__ import annotations

import argparse
import io
import logging
import sys
from typing import TYPE_CHECKING

from bot.config import (
    EXIT_CONFIG,
    Settings,
    SettingsError,
    load_database_url,
    load_language,
    load_settings,
)
from bot.i18n import N_, _, use_locale

if TYPE_CHECKING:
    from sqlalchemy import Engine

if TYPE_CHECKING:
    from bot.records.make import Maker
    from bot.workflow import Desk

log = logging.getLogger("bot")

SANDBOX_HINT = N_(
    "No Slack app set up yet? `complaint-bot sandbox` runs the bot against a local Slack "
    "emulator, no Slack workspace needed."
)
# libraries whose INFO lines at every start read like news but are not: Alembic's plugin
# set-up and migration context, APScheduler's job bookkeeping
QUIET_LOGGERS = ("alembic", "apscheduler")


def _settings(command: str) -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(
            _(
                "complaint-bot {command}: the settings need fixing (.env or the environment):",
                command=command,
            )
        )
        for problem in exc.problems:
            print(f"  - {problem}")
        if exc.no_slack and command == "run":
            print(_(SANDBOX_HINT))
        raise SystemExit(EXIT_CONFIG) from exc
    # logging is set up before the settings are read (so their errors are logged too);
    # LOG_LEVEL applies from here on, in this process and the ones it forks
    logging.getLogger().setLevel(settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> SystemExit:
    print(f"complaint-bot: {message}", file=sys.stderr)
    return SystemExit(code)


def masked(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_database(*, migrated: bool = True) -> Engine:
    """The database of DATABASE_URL, for commands that need nothing else; one line, not a
    traceback, when it cannot be opened or (with `migrated`) was never migrated."""
    from pathlib import Path

    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import schema_status
    from bot.models import make_engine

    url = load_database_url()
    parsed = make_url(url)
    local = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:")
    if migrated and local and not Path(str(parsed.database)).exists():
        raise fail(
            _("no database at {path} (DATABASE_URL={url})", path=parsed.database, url=masked(url))
        )
    try:
        engine = make_engine(url)
        if not migrated:
            return engine
        current, head = schema_status(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc.__class__.__name__).splitlines()[0]
        raise fail(
            _("cannot open the database {url}: {reason}", url=masked(url), reason=reason)
        ) from exc
    if current is None:
        raise fail(
            _(
                "the database {url} has no complaint-desk tables: run `complaint-bot migrate` "
                "first",
                url=masked(url),
            )
        )
    if current != head:
        raise fail(
            _(
                "the database {url} is at revision {current}, this code expects {head}: run "
                "`complaint-bot migrate`",
                url=masked(url),
                current=current,
                head=head,
            )
        )
    return engine


def offline_settings(database_url: str) -> Settings:
    """Settings for a command that reads the database and never talks to Slack: the
    defaults, without the Slack values it does not need."""
    return Settings(
        slack_bot_token="",
        slack_signing_secret="",
        complaints_channel="",
        management_channel="",
        database_url=database_url,
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.db import migrate, schema_status

    engine = open_database(migrated=False)
    migrate(engine)
    current, head = schema_status(engine)
    print(_("database at revision {current} (latest {head})", current=current, head=head))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.supervisor import run

    return run(_settings("run"), args.host)


def cmd_export(args: argparse.Namespace) -> int:
    """Print a case's full record as JSON (for an auditor, or the archive)."""
    import json

    from bot.models import make_session_factory
    from bot.workflow import Desk, NotFound

    engine = open_database()
    desk = Desk(make_session_factory(engine), offline_settings(str(engine.url)))
    try:
        record = desk.export_case(args.ref)
    except NotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2, default=str))
    return 0


def _read_only_settings() -> Settings:
    """Settings for the read-only commands, which need only DATABASE_URL: Slack values that
    are missing or still the examples of .env.example are replaced by placeholders (no Slack
    call is made unless a real bot token is set, and then only users.info, for people's
    names), while the time zone, calendar and language still come from the settings."""
    import os

    from dotenv import find_dotenv, load_dotenv

    from bot.config import is_example

    load_dotenv(find_dotenv(usecwd=True), override=False)
    env = {k: v for k, v in os.environ.items() if not is_example(v)}
    env.pop("SLACK_APP_TOKEN", None)  # these commands never connect
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
    from bot.models import make_session_factory
    from bot.records.make import Maker
    from bot.workflow import Desk

    desk = Desk(make_session_factory(open_database()), settings)
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
    print(_("{file}: {title}, {n} bytes", file=out, title=f.title, n=len(f.content)))
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
    print(_("{file}: {title}, {n} bytes", file=out, title=f.title, n=len(f.content)))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import run_checks

    try:
        settings = load_settings()
    except SettingsError as exc:
        print("✗ " + _("settings") + "\n" + "\n".join(f"    {p}" for p in exc.problems))
        return 1
    # the report is printed whole, and the log lines the checks caused after it, so the
    # two never interleave (a failed call logs its own error as it happens)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        checks = run_checks(settings)
    finally:
        root.handlers = saved
    ok = True
    for check in checks:
        mark = "✓" if check.ok else "✗"
        print(f"{mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print("    " + _("fix: {fix}", fix=check.fix))
        ok &= check.ok
    sys.stdout.flush()
    if buffer.getvalue():
        print(_("log lines written during the checks:") + "\n" + buffer.getvalue(), file=sys.stderr)
    return 0 if ok else 1


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The real bot against the built-in Slack emulator, in a browser (bot/sandbox)."""
    from bot.sandbox.cli import run_sandbox

    return run_sandbox(port=args.port, database_url=args.database_url, shots=args.screenshots)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="complaint-bot", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help=_("migrate the database and run the bot"))
    run.add_argument("--host", default="0.0.0.0", help=_("HTTP mode: address to listen on"))
    run.set_defaults(func=cmd_run)
    sub.add_parser("migrate", help=_("bring the database schema up to date")).set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("doctor", help=_("check a deployment and say what to fix")).set_defaults(
        func=cmd_doctor
    )
    export = sub.add_parser("export", help=_("print a case's full record as JSON"))
    export.add_argument("ref", help=_("the case reference, e.g. CC-2026-0001"))
    export.set_defaults(func=cmd_export)
    sandbox = sub.add_parser(
        "sandbox", help=_("try the desk without Slack: a local Slack emulator in your browser")
    )
    sandbox.add_argument("--port", type=int, default=0, help=_("port on 127.0.0.1 (default: any)"))
    sandbox.add_argument(
        "--database-url",
        default=None,
        help=_(
            "database to use (default: a fresh SQLite file, deleted at exit; also read "
            "from the DATABASE_URL environment variable, never from .env)"
        ),
    )
    sandbox.add_argument(
        "--screenshots",
        metavar="DIR",
        default=None,
        help=_("walk a complaint to closure in headless Chromium and save screenshots to DIR"),
    )
    sandbox.set_defaults(func=cmd_sandbox)
    report = sub.add_parser("report", help=_("write a case's improvement report as a PDF"))
    report.add_argument("ref", help=_("the case reference, e.g. CC-2026-0001"))
    report.add_argument("-o", "--output", help=_("the PDF file to write (default: its own name)"))
    report.set_defaults(func=cmd_report)
    reg = sub.add_parser("register", help=_("write the complaint register (XLSX or CSV)"))
    reg.add_argument("--from", dest="date_from", help=_("first day received, YYYY-MM-DD"))
    reg.add_argument("--to", dest="date_to", help=_("last day received, YYYY-MM-DD"))
    reg.add_argument("-o", "--output", help=_("FILE.xlsx, or FILE.csv for CSV"))
    reg.add_argument(
        "filters", nargs="*", help=_("customer:… product:… severity:A status:open|closed unit:…")
    )
    reg.set_defaults(func=cmd_register)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return int(args.func(args))


def main(argv: list[str] | None = None) -> int:
    """The command line speaks LANGUAGE (en or zh-CN)."""
    with use_locale(load_language()):
        return _main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
