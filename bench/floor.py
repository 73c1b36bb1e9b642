"""The floor: a bare Bolt app whose listeners only ack(), served like the bot.

`python -m bench.floor --port N --slack-url URL` — the cost of waitress + Bolt (signature
check, parsing, middleware, listener dispatch) alone. Configured like the bot's App
otherwise, so its authorization also asks the fake for `auth.test` once and then uses the
cached answer. Runs until SIGTERM."""

from __future__ import annotations

import argparse
import re
import signal
import threading
from typing import Any

from bench.common import SECRET

THREADS = 16  # as WEB_THREADS in bot/supervisor.py


def floor_app(slack_url: str) -> Any:
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

    @app.view(re.compile(r"^step:[a-z_]{1,40}$"))
    def step_view(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return handler(environ, start_response)

    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-url", required=True)
    args = parser.parse_args(argv)
    from waitress import create_server

    server = create_server(
        floor_app(args.slack_url), host="127.0.0.1", port=args.port, threads=THREADS
    )
    threading.Thread(target=server.run, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
