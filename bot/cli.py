"""`complaint-bot run | migrate | doctor`."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        print("Copy .env.example to .env and fill it in; see the README.", file=sys.stderr)
        raise SystemExit(2) from exc
    # logging is set up before the settings are read (so their errors are logged too);
    # LOG_LEVEL applies from here on, in this process and the ones it forks
    logging.getLogger().setLevel(settings.log_level)
    return settings


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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
