"""`complaint-bot sandbox`: the real bot against the built-in Slack emulator, in a browser.

One process holds three things: the fake Slack Web API (its own loopback port, as
slack.com is elsewhere), the bot exactly as `build()` makes it (handlers, workflow,
database, outbox, scheduler), and a small web server on 127.0.0.1 that serves both the
bot's `/slack/events` (where the emulator sends its signed requests) and the sandbox page
with its JSON API. The bot's clock is the sandbox's: it moves only when real time passes
or someone presses the clock control, which then runs a scheduler tick at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot.app import Bot, build
from bot.config import Settings, load_settings
from bot.models import utcnow
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.state import page_state, state_values
from bot.sandbox.workspace import SandboxSlack

log = logging.getLogger(__name__)

COMPLAINTS, MANAGEMENT = "C0SBCOMPL", "C0SBMANAGE"
BOT_USER = "U0SBBOT"
# the people of the person switcher: one per role the procedure needs
PEOPLE = (
    ("U0SBMKT", "Mei Lin", "Marketing (市场部)"),
    ("U0SBTQ", "Tao Wang", "Technical Quality (技术质量部)"),
    ("U0SBPROD", "Peng Zhao", "Production — responsible unit (生产部)"),
    ("U0SBMGR", "Min Chen", "Management (公司主管)"),
)
NOTE = (
    "Local sandbox: the real complaint desk against a Slack emulator on this computer. "
    "Nothing is sent to Slack; the people, channels and cases here are make-believe."
)


class SandboxClock:
    """The bot's injected clock: real time plus an offset the clock control moves, or a
    fixed time (tests and screenshots) that only the clock control moves."""

    def __init__(self, start: datetime | None = None) -> None:
        self._fixed = start
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            base = self._fixed if self._fixed is not None else utcnow()
            return base + self._offset

    def move_to(self, when: datetime) -> None:
        with self._lock:
            base = self._fixed if self._fixed is not None else utcnow()
            if when > base + self._offset:
                self._offset = when - base


def sandbox_settings(database_url: str, slack_url: str, secret: str) -> Settings:
    mkt, tq, prod, mgr = (p[0] for p in PEOPLE)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-sandbox-0000",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": database_url,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "MANAGEMENT_CHANNEL": MANAGEMENT,
        "MARKETING_USERS": mkt,
        "QUALITY_USERS": tq,
        "MANAGEMENT_USERS": mgr,
        "RESPONSIBLE_UNITS": f"production={prod};development=;purchasing=;warehouse=",
        "SCHEDULER_INTERVAL_SECONDS": "10",
        "WORKER_PROCESS": "false",
    }
    return load_settings(env, dotenv=False)


class Sandbox:
    """The bot, the emulator and the page, started and stopped together."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        start: datetime | None = None,
        port: int = 0,
        ticking: bool = True,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if not database_url:
            # disposable: a fresh SQLite file that goes away with the sandbox
            self._tmp = tempfile.TemporaryDirectory(prefix="complaint-sandbox-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'sandbox.sqlite3'}"
        self.database_url = database_url
        self.clock = SandboxClock(start)
        self.port = port
        self.ticking = ticking
        self.slack = SandboxSlack(
            clock=self.clock,
            bot_user_id=BOT_USER,
            channels={
                COMPLAINTS: {"name": "complaints", "members": []},
                MANAGEMENT: {"name": "management", "members": []},
            },
        )
        members = [BOT_USER] + [p[0] for p in PEOPLE]
        for cid, name in ((COMPLAINTS, "complaints"), (MANAGEMENT, "management")):
            self.slack.set_channel(cid, name=name, members=members)
        self.slack.set_user(BOT_USER, name="complaint-desk", real_name="Complaint desk")
        self.slack.user_names[BOT_USER] = "Complaint desk"
        for uid, name, _role in PEOPLE:
            self.slack.set_user(uid, name=name.lower().replace(" ", "."), real_name=name)
            self.slack.user_names[uid] = name
        self.bot: Bot | None = None
        self.emulator: SlackEmulator | None = None
        self.url = ""
        self._server: Any = None
        self._work = threading.Lock()  # one person's action at a time, as one browser

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        from waitress import create_server

        self.slack.start()
        secret = secrets.token_hex(16)
        settings = sandbox_settings(self.database_url, self.slack.url, secret)
        self.bot = build(settings, clock=self.clock, with_scheduler=True, channel_interval=0)
        if self.ticking:
            self.bot.start_background()
        else:  # ticks only when the clock control moves time (tests: no timer in the way)
            self.bot.worker.start()
            self.bot.sender.start()
        # the scheduler's first tick, as at every start: plans the digests, catches up
        self.tick()
        self._server = create_server(self.wsgi(), host="127.0.0.1", port=self.port, threads=8)
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self.emulator = SlackEmulator(self.slack, self.url + "/slack/events", secret)

        def run() -> None:
            with contextlib.suppress(OSError):  # the socket closed under select() at stop
                self._server.run()

        threading.Thread(target=run, name="sandbox-http", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self.bot is not None:
            self.bot.stop()
            self.bot = None
        self.slack.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the page asks for -----------------------------------------------------------------

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for the bot to finish what it acknowledged and deliver what it owes Slack,
        so the page shows the outcome of an action as soon as the action returns."""
        assert self.bot is not None
        self.bot.wait_idle(timeout)
        self.bot.sender.drain(timeout)

    def state(self, user: str) -> dict[str, Any]:
        assert self.bot is not None
        return page_state(self, user)

    def act(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """One thing a person did on the page, sent to the bot as Slack would send it."""
        emu, user = self.emulator, str(data.get("user") or "")
        assert emu is not None and self.bot is not None
        if user not in {p[0] for p in PEOPLE}:
            raise ValueError("unknown person")
        with self._work:
            if kind == "command":
                command, _, text = str(data.get("text") or "").strip().partition(" ")
                emu.command(user, str(data["channel"]), command, text.strip())
            elif kind == "message":
                text = str(data.get("text") or "")
                if text.strip():
                    emu.message(user, str(data["channel"]), text, data.get("thread_ts"))
            elif kind == "click":
                emu.click(
                    user,
                    data["action"],
                    block_id=str(data.get("block_id") or ""),
                    channel=data.get("channel"),
                    message_ts=data.get("message_ts"),
                    view_id=data.get("view_id"),
                )
            elif kind == "submit":
                view = self.slack.view(str(data["view_id"]))
                if view is not None:
                    state = state_values(view, data.get("answers") or {}, user, self.slack)
                    emu.submit(user, view["id"], state)
            elif kind == "close":
                emu.close(user, str(data["view_id"]))
            elif kind == "home":
                emu.open_home(user)
            elif kind == "options":
                options = emu.options(
                    user,
                    str(data["view_id"]),
                    str(data["block_id"]),
                    str(data["action_id"]),
                    str(data.get("value") or ""),
                )
                return {"options": options}
            elif kind == "clock":
                self.move_clock(str(data.get("step") or "day"))
            else:
                raise ValueError(f"unknown action {kind!r}")
            self.settle()
        return {"ok": True}

    def move_clock(self, step: str) -> None:
        """ "day": the next working day at 09:00, company time (after the 08:45 digest);
        "hour": one hour on. Then one scheduler tick, as the timer would run it."""
        assert self.bot is not None
        now = self.clock()
        if step == "hour":
            target = now + timedelta(hours=1)
        else:
            cal = self.bot.desk.calendar
            tz = self.bot.desk.tz
            day = now.astimezone(tz).date() + timedelta(days=1)
            tomorrow = datetime.combine(day, datetime.min.time(), tz)
            start = cal.next_working_moment(tomorrow)
            target = start.replace(hour=9, minute=0).astimezone(UTC)
        self.clock.move_to(target)
        self.tick()

    def tick(self) -> None:
        assert self.bot is not None and self.bot.scheduler is not None
        self.bot.scheduler.tick()

    # -- HTTP -----------------------------------------------------------------------------------

    def wsgi(self) -> Callable[..., Iterable[bytes]]:
        assert self.bot is not None
        bot_app = self.bot.wsgi()

        def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            path = environ.get("PATH_INFO") or "/"
            if path in ("/slack/events", "/healthz"):
                return bot_app(environ, start_response)
            return self._page(environ, start_response, path)

        return application

    def _page(self, environ: dict[str, Any], start_response: Any, path: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        # only this computer's browser: a page elsewhere that resolves its own name to
        # 127.0.0.1 (DNS rebinding) sends its own Host, and a cross-site form post cannot
        # send JSON without a CORS preflight, which is never answered here
        host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost"):
            return _answer(start_response, "403 Forbidden", "text/plain", b"local only")
        kind = environ.get("CONTENT_TYPE") or ""
        if method == "POST" and not kind.startswith("application/json"):
            return _answer(start_response, "415 Unsupported Media Type", "text/plain", b"JSON")
        if method == "GET" and path in STATIC:
            name, kind = STATIC[path]
            data = resources.files("bot.sandbox").joinpath("static", name).read_bytes()
            return _answer(start_response, "200 OK", kind, data)
        if method == "GET" and path == "/api/state":
            from urllib.parse import parse_qs

            query = parse_qs(environ.get("QUERY_STRING") or "")
            user = (query.get("user") or [PEOPLE[0][0]])[-1]
            return _json(start_response, "200 OK", self.state(user))
        if method == "POST" and path.startswith("/api/"):
            try:
                size = int(environ.get("CONTENT_LENGTH") or 0)
                if size > 1_000_000:
                    raise ValueError("request too large")
                data = json.loads(environ["wsgi.input"].read(size) or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("JSON object expected")
                result = self.act(path[len("/api/") :], data)
            except (ValueError, KeyError, TypeError) as exc:
                return _json(start_response, "400 Bad Request", {"ok": False, "error": str(exc)})
            return _json(start_response, "200 OK", result)
        return _answer(start_response, "404 Not Found", "text/plain; charset=utf-8", b"not found")


STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/sandbox.js": ("sandbox.js", "text/javascript; charset=utf-8"),
    "/sandbox.css": ("sandbox.css", "text/css; charset=utf-8"),
}


def _answer(start_response: Any, status: str, kind: str, data: bytes) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", kind),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [data]


def _json(start_response: Any, status: str, value: Any) -> list[bytes]:
    data = json.dumps(value, ensure_ascii=False, default=str).encode()
    return _answer(start_response, status, "application/json; charset=utf-8", data)
