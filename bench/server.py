"""The server side of the benchmark, run as its own process by bench/run.py.

`python -m bench.server --mode bot --database-url URL` starts the fake Slack Web API in
this process and the complaint desk as production starts it, `python -m bot run` (its
supervisor, web process and worker process; settings from the environment, SLACK_API_URL
pointing at the fake), as a child process. `--mode floor` starts, instead of the bot, a
bare Bolt app whose listeners only ack (bench/floor.py), against the same fake.

The fake runs in its own process, like Slack, so its CPU (JSON, Block Kit validation) is
not counted as the bot's; it is reported separately.

Prints `PORT <app port> STATS <stats port> PID <app pid>` on stdout once the app answers
/healthz, then serves until its stdin closes (the bench closes it; so does the bench
dying) or it gets SIGTERM, and then stops the app. GET /bench/stats on the stats port
answers with the fake's call counts and CPU, and the app's process tree: CPU, RSS, PSS.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import (
    COMPLAINTS,
    bot_env,
    check_database_name,
    proc_status,
    setup_fake,
    tree_status,
)
from bot.sandbox.fakeslack import FakeSlack, _Server

log = logging.getLogger("bench.server")
MARKER = re.compile(r"bench-(\d+)")  # in the customer name of the bench's submissions
ROOT = Path(__file__).resolve().parent.parent


class LeanFakeSlack(FakeSlack):
    """The tests' fake Slack, forgetting what tests inspect so that its bookkeeping does not
    grow during a run: calls are only counted, stored messages keep no blocks (chat.update
    only needs the message to exist) and opened views are dropped."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.counts: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        # end-to-end latency: when each card reached "Slack" (by the bench's marker in the
        # customer's name) and each card update (by the card's ts), on the wall clock the
        # bench shares with this process
        self.cards_posted: dict[str, float] = {}
        self.cards_updated: dict[str, list[float]] = {}

    def start(self) -> LeanFakeSlack:
        # http.server's listen backlog of 5 resets connections under bursts; Slack's own
        # servers have no such limit
        _Server.request_queue_size = 128
        super().start()
        return self

    def _use_trigger(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        """The bench's clients run in another process and cannot ask this fake for trigger
        ids (the tests pass `issue_trigger`): an id it has not seen counts as issued now,
        so `/complaint new` opens its form as in Slack instead of failing with
        invalid_trigger_id and falling back to an ephemeral message."""
        trigger = str(args.get("trigger_id") or "")
        if trigger and trigger not in self._triggers:
            self._triggers[trigger] = self.clock()
        try:
            return super()._use_trigger(args, kind)
        finally:
            self._triggers.pop(trigger, None)

    def _dispatch(self, path: str, raw: dict[str, Any], auth: str, bad_body: bool) -> Any:
        status, payload, headers = super()._dispatch(path, raw, auth, bad_body)
        now = time.time()
        with self._lock:
            method = path.removeprefix("/api/")
            if payload.get("ok"):
                self.counts[method] += 1
                if method == "chat.postMessage" and not raw.get("thread_ts"):
                    marker = MARKER.search(json.dumps(raw.get("blocks") or ""))
                    if marker and str(raw.get("channel")) == COMPLAINTS:
                        self.cards_posted.setdefault(marker[1], now)
                elif method == "chat.update":
                    self.cards_updated.setdefault(str(raw.get("ts")), []).append(now)
            else:
                self.failed[f"{method}:{payload.get('error')}"] += 1
            self.calls.clear()
            self.rejected.clear()
            self._views.clear()
            # conversations.open answers a channel object, not an id: not a message
            channel = payload.get("channel")
            msg = (
                self.messages.get((channel, payload.get("ts")))
                if isinstance(channel, str)
                else None
            )
            if msg is not None:
                msg["blocks"] = []
        return status, payload, headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(mode: str, database_url: str, fake_url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    if mode == "bot":
        check_database_name(database_url)
        env.update(bot_env(database_url, fake_url), PORT=str(port))
        cmd = [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"]
    else:
        cmd = [sys.executable, "-m", "bench.floor", "--port", str(port), "--slack-url", fake_url]
    # the app's log goes to this process's stderr, which the bench writes to a file
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{mode} did not answer /healthz")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--mode", choices=["bot", "floor"], required=True)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    fake = LeanFakeSlack(seed=7).start()
    setup_fake(fake)
    app, port = start_app(args.mode, args.database_url, fake.url)

    class Stats(BaseHTTPRequestHandler):
        def log_message(self, format: str, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            with fake._lock:
                out: dict[str, Any] = {
                    "mode": args.mode,
                    "fake_calls": dict(fake.counts),
                    "fake_failed": dict(fake.failed),
                    "fake_process": proc_status(),
                    "app": tree_status(app.pid),
                    "cards_posted": dict(fake.cards_posted),
                    "cards_updated": dict(fake.cards_updated),
                }
            body = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    stats = ThreadingHTTPServer(("127.0.0.1", 0), Stats)
    threading.Thread(target=stats.serve_forever, daemon=True).start()
    print(f"PORT {port} STATS {stats.server_address[1]} PID {app.pid}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def wait_stdin() -> None:
        sys.stdin.read()  # returns when the bench closes our stdin (or dies)
        done.set()

    threading.Thread(target=wait_stdin, daemon=True).start()
    done.wait()
    app.send_signal(signal.SIGTERM)
    try:
        app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()
    stats.shutdown()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
