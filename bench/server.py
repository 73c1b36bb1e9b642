"""The server side of the benchmark, run as its own process by bench/run.py.

`python -m bench.server --mode bot --database-url URL` serves the complaint desk exactly as
`complaint-bot run` does in HTTP mode (waitress, threads=16, the outbox sender running), with
SLACK_API_URL pointing at a fake Slack Web API started in this same process.
`python -m bench.server --mode floor` serves a bare Bolt app whose listeners only ack().

Prints `PORT <n>` on stdout once it listens, then serves until its stdin closes (the bench
closes it; so does the bench dying) or it gets SIGTERM. GET /bench/stats answers with this
process's memory and CPU and the fake's call counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from bench.common import SECRET, bot_env, check_database_name, proc_status, setup_fake
from tests.fakeslack import FakeSlack, _Server

log = logging.getLogger("bench.server")
THREADS = 16


class LeanFakeSlack(FakeSlack):
    """The tests' fake Slack, forgetting what tests inspect so that its bookkeeping does not
    grow the server's memory during a run: calls are only counted, stored messages keep
    no blocks (chat.update only needs the message to exist) and opened views are dropped.
    Its CPU time (JSON decoding, Block Kit validation) is measured."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.counts: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.cpu_seconds = 0.0

    def start(self) -> LeanFakeSlack:
        # http.server's listen backlog of 5 resets connections when the outbox's workers
        # and the handlers call at once; Slack's own servers have no such limit
        _Server.request_queue_size = 128
        super().start()
        return self

    def _dispatch(self, path: str, raw: dict[str, Any], auth: str, bad_body: bool) -> Any:
        t0 = time.thread_time()
        status, payload, headers = super()._dispatch(path, raw, auth, bad_body)
        with self._lock:
            method = path.removeprefix("/api/")
            if payload.get("ok"):
                self.counts[method] += 1
            else:
                self.failed[f"{method}:{payload.get('error')}"] += 1
            self.calls.clear()
            self.rejected.clear()
            self._views.clear()
            msg = self.messages.get((payload.get("channel"), payload.get("ts")))
            if msg is not None:
                msg["blocks"] = []
            self.cpu_seconds += time.thread_time() - t0
        return status, payload, headers


def floor_app(slack_url: str) -> Any:
    """A bare Bolt app with the same signing secret and the same kinds of listener as the
    bot, each only acknowledging: the cost of waitress + Bolt (signature check, parsing,
    middleware, listener dispatch) alone. Configured like the bot's App otherwise, so its
    authorization also asks the fake for `auth.test` once and then uses the cached answer."""
    import re

    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-bench-token", base_url=slack_url),
        token_verification_enabled=False,
        process_before_response=False,  # as the bot
        ignoring_self_events_enabled=True,
    )

    @app.command("/complaint")
    def command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(r"^step:[a-z_]{1,40}$"))
    def action(ack: Ack) -> None:
        ack()

    @app.view("complaint_new")
    def view(ack: Ack) -> None:
        ack()

    return SlackRequestHandler(app, path="/slack/events")


def with_stats(
    app: Callable[..., Iterable[bytes]], stats: Callable[[], dict[str, Any]]
) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/bench/stats":
            body = json.dumps(stats()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--mode", choices=["bot", "floor"], required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    stop_hooks: list[Callable[[], None]] = []
    info: dict[str, Any] = {"mode": args.mode}
    fake = LeanFakeSlack(seed=7).start()
    setup_fake(fake)
    stop_hooks.append(fake.stop)
    if args.mode == "bot":
        from bot.app import build
        from bot.config import load_settings

        check_database_name(args.database_url)
        settings = load_settings(bot_env(args.database_url, fake.url), dotenv=False)
        # channel_interval=0: no 1 message/s/channel pacing (the fake does not rate-limit);
        # outbox_base_delay only matters for retries, which the fake never causes
        bot = build(settings, outbox_base_delay=0.05, channel_interval=0, with_scheduler=False)
        try:  # every production process plans reminders, whether it ticks or not
            from bot.scheduler import install_reminders

            install_reminders(bot)
            info["reminder_hook"] = True
        except ImportError:
            info["reminder_hook"] = False
        bot.start_background()
        stop_hooks.insert(0, bot.stop)
        app = bot.wsgi()
    else:
        app = floor_app(fake.url)

    def stats() -> dict[str, Any]:
        out: dict[str, Any] = {**info, **proc_status(), "threads": threading.active_count()}
        with fake._lock:
            out["fake_calls"] = dict(fake.counts)
            out["fake_failed"] = dict(fake.failed)
            out["fake_cpu_ms"] = int(fake.cpu_seconds * 1000)
        return out

    from waitress import create_server

    server = create_server(with_stats(app, stats), host="127.0.0.1", port=0, threads=args.threads)
    threading.Thread(target=server.run, name="waitress", daemon=True).start()
    print(f"PORT {server.effective_port}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def wait_stdin() -> None:
        sys.stdin.read()  # returns when the bench closes our stdin (or dies)
        done.set()

    threading.Thread(target=wait_stdin, daemon=True).start()
    done.wait()
    # the waitress thread is a daemon and ends with the process; closing its sockets
    # under its select() would only log a spurious EBADF traceback
    for hook in stop_hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.exception("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
