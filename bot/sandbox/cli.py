"""`complaint-bot sandbox [--port N] [--database-url URL] [--screenshots DIR]`."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path


def run_sandbox(*, port: int = 0, database_url: str | None = None, shots: str | None = None) -> int:
    from bot.sandbox.server import Sandbox

    # a timer tick every few seconds and each migration step would bury the page's address
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # the process environment only: a .env describes the real deployment, and the
    # sandbox must never write its make-believe cases into that database
    database_url = database_url or os.environ.get("DATABASE_URL") or None
    if shots is not None:
        return _screenshots(Path(shots), database_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Sandbox(database_url=database_url, port=port) as sb:
        print(f"Complaint desk sandbox: open {sb.url}/ in your browser (Ctrl-C stops it)")
        print(f"  local only: a Slack emulator on this computer; database {sb.database_url}")
        stop.wait()
    return 0


def _screenshots(folder: Path, database_url: str | None) -> int:
    from bot.sandbox.browser import BrowserMissing
    from bot.sandbox.tour import walk

    try:
        shots = walk(folder, database_url=database_url)
    except BrowserMissing as exc:
        print(exc)
        return 1
    for path in shots:
        print(f"saved {path}")
    return 0
