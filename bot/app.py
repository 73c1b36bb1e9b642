"""Wiring: settings → database → desk → gateway → outbox sender → Bolt app → HTTP server."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy import Engine, text

from bot.config import Settings
from bot.db import migrate
from bot.handlers import Services, register
from bot.httpguard import SlackHandler, bad_payload, guard
from bot.i18n import configure as configure_i18n
from bot.i18n import set_locale, use_locale
from bot.models import make_engine, make_session_factory, utcnow
from bot.models.leases import LeaseKeeper
from bot.scheduler import install_reminders, make_scheduler
from bot.slack.delivery import Delivery
from bot.slack.directory import Directory
from bot.slack.gateway import Gateway
from bot.slack.notices import Notices
from bot.slack.outbox import OutboxSender
from bot.wakeup import InFlight, Wakeup
from bot.workflow import Desk
from bot.workflow.inbox import InboxWorker

log = logging.getLogger(__name__)

# Bolt runs each listener here; the ack is sent when the listener calls ack(), so a pool
# busy with work after earlier acks (views.open waits on Slack) would delay new acks
LISTENER_THREADS = 64
# /healthz fails when an acknowledged request has waited this long for the worker
WORKER_OVERDUE = timedelta(minutes=5)
# events whose answer a person sees (the Home tab); thread replies and file events are only
# recorded, so they need no users.info lookup
PERSONAL_EVENTS = ("app_home_opened",)
WRITE_PROBE = text("UPDATE processed_requests SET key = key WHERE 1 = 0")


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt runs listeners here after the ack; it counts the ones still running so a clean
    shutdown (and a test) can wait for work that Slack was already told is accepted."""

    def __init__(self, workers: int = 16) -> None:
        super().__init__(max_workers=workers, thread_name_prefix="listener")
        self._running = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._running += 1
        # the listener runs in the request's context: its language (see `_bolt_app`)
        ctx = contextvars.copy_context()

        def run() -> Any:
            try:
                return ctx.run(fn, *args, **kwargs)
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return super().submit(run)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)


@dataclass
class Bot:
    settings: Settings
    engine: Engine
    desk: Desk
    gateway: Gateway
    directory: Directory
    sender: OutboxSender
    app: App | None
    worker: InboxWorker
    wakeup: Wakeup
    in_flight: InFlight
    role: str = "all"
    listeners: ListenerExecutor | None = None
    scheduler: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Socket Mode: the connection to Slack (bot.socketmode.SocketModeClient), for /healthz
    socket: Any = None
    leases: LeaseKeeper = field(init=False)

    def __post_init__(self) -> None:
        # claims are short leases, renewed while this process works (bot/models/leases.py)
        self.leases = LeaseKeeper(self.engine)

    def wsgi(self) -> Callable[..., Iterable[bytes]]:
        """`POST /slack/events` for Bolt (HTTP mode), `GET /healthz` for the load balancer
        (both modes)."""
        assert self.app is not None, "a worker process serves no HTTP"
        guarded = guard(SlackHandler(self.app, path="/slack/events"))

        def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                problem = self.health_problem()
                start_response(
                    "503 Service Unavailable" if problem else "200 OK",
                    [("Content-Type", "text/plain; charset=utf-8")],
                )
                return [(problem or "ok").encode()]
            if self.settings.socket_mode:  # Slack's requests come over the socket
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"Socket Mode: only /healthz is served here"]
            self.in_flight.started()
            try:
                return guarded(environ, start_response)
            finally:
                self.in_flight.finished()

        return application

    def health_problem(self) -> str | None:
        """None when healthy; else what is wrong: the database cannot be reached, or
        requests Slack was told are accepted have waited for the worker for minutes (a
        worker process that hangs; one that dies is restarted by the supervisor)."""
        if self.socket is not None and not self.socket.connected:
            return "not connected to Slack (Socket Mode)"
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            stuck = self.desk.inbox.overdue_requests(WORKER_OVERDUE)
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return "database unreachable"
        try:
            # a database that can be read but not written (a read-only file or replica,
            # a full disk) acks requests it cannot keep: try a real write transaction.
            # It changes no row; SQLite refuses its BEGIN IMMEDIATE, PostgreSQL the UPDATE
            with self.engine.begin() as conn:
                conn.execute(WRITE_PROBE)
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            log.warning("healthz: the database cannot be written: %s", exc)
            return "database cannot be written"
        if stuck:
            minutes = int(WORKER_OVERDUE.total_seconds() // 60)
            return f"worker behind: {stuck} acknowledged request(s) waiting over {minutes} min"
        return None

    @property
    def does_work(self) -> bool:
        """Whether this process takes accepted requests, delivers the outbox and ticks."""
        return self.role in ("all", "worker")

    def start_background(self) -> None:
        if not self.does_work:
            return
        self.leases.start()
        self.worker.start()
        self.sender.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once no acknowledged request is still being worked on: no listener still
        running after its ack and, where this process does the work, no stored request
        still waiting for the worker."""
        if self.listeners is not None and not self.listeners.wait_idle(timeout):
            return False
        return self.worker.drain(timeout) if self.does_work else True

    def stop(self) -> None:
        self.wait_idle(10)
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.worker.stop()
        self.sender.stop()
        self.leases.stop()
        from bot.records import isolated

        isolated.close()  # the helper that makes PDF/XLSX files, if one is running
        self.gateway.client.disconnect()  # kept-alive connections to Slack, every thread's
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    run_migrations: bool = True,
    outbox_base_delay: float = 1.0,
    outbox_max_delay: float = 300.0,
    channel_interval: float = 1.0,
    channel_burst: int | None = None,
    token_verification: bool = True,
    with_scheduler: bool | None = None,
    role: str = "all",
    in_flight: InFlight | None = None,
) -> Bot:
    """`role`: "all" runs everything in this process; "web" only answers Slack (requests
    are stored for the worker, which it wakes through `Bot.wakeup`); "worker" only does
    the stored requests, the outbox and the scheduler (see bot/supervisor.py)."""
    if role not in ("all", "web", "worker"):
        raise ValueError(f"unknown role {role!r}")
    in_flight = in_flight or InFlight()
    # in a worker process, each transaction first lets Slack's requests in flight go (so a
    # web process's INSERT of an acked request waits for one worker transaction at most)
    gate = in_flight.yield_to_requests if role == "worker" else None
    configure_i18n(settings.timezone)
    engine = make_engine(settings.database_url, before_transaction=gate)
    if run_migrations:
        migrate(engine)
    sessions = make_session_factory(engine)
    desk = Desk(sessions, settings, clock=clock)
    gateway = Gateway(settings.slack_bot_token, settings.slack_api_url)
    directory = Directory(settings, gateway)
    delivery = Delivery(desk, gateway, directory)

    def on_failure(row: Any, error: str) -> None:
        if row.case_id is not None:
            desk.record_delivery_failure(row.case_id, error, row.kind, clock())

    sender = OutboxSender(
        sessions,
        delivery,
        clock=utcnow,
        base_delay=outbox_base_delay,
        max_delay=outbox_max_delay,
        channel_interval=channel_interval,
        channel_burst=settings.slack_channel_burst if channel_burst is None else channel_burst,
        on_failure=on_failure,
    )
    wakeup = Wakeup()
    sender.before_each = in_flight.yield_to_requests
    services = Services(settings, desk, gateway, directory, wakeup)
    worker = InboxWorker(
        desk,
        actor=directory.actor,
        tell=Notices(gateway).tell,
        wake=wakeup,
        locale=directory.locale,
        base_delay=outbox_base_delay,
        before_each=in_flight.yield_to_requests,
    )
    sender.busy_elsewhere = worker.busy
    if role != "web":
        wakeup.subscribe(sender.wake)
        wakeup.subscribe(worker.wake)
    app = listeners = None
    if role != "worker":
        listeners = ListenerExecutor(LISTENER_THREADS)
        app = _bolt_app(settings, desk, services, listeners, clock, token_verification)
    if not settings.roles_configured and role != "worker":  # said once, not per process
        log.warning(
            "No roles configured (MARKETING_USERS, QUALITY_USERS, MANAGEMENT_USERS): "
            "everyone may take every step. Fine for a trial, not for production."
        )
    bot = Bot(
        settings,
        engine,
        desk,
        gateway,
        directory,
        sender,
        app,
        worker,
        wakeup,
        in_flight,
        role,
        listeners,
    )
    # every process plans reminders when a case changes; only some run the ticks
    install_reminders(bot)
    ticks = with_scheduler if with_scheduler is not None else settings.scheduler_enabled
    if role != "web" and ticks:
        bot.scheduler = make_scheduler(bot)
    return bot


class _NoTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns
    that the token will be unused; it is the client's own token, so the warning only
    looks like a misconfiguration."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class DeskApp(App):
    """Bolt's App, each request handled in a language scope of its own (see
    `personal_language`): LANGUAGE until the person's own is known."""

    def __init__(self, language: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.language = language

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        with use_locale(self.language):
            return super().dispatch(req)


def _bolt_app(
    settings: Settings,
    desk: Desk,
    services: Services,
    listeners: ListenerExecutor,
    clock: Callable[[], datetime],
    token_verification: bool,
) -> App:
    client = WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL
    )
    bolt_log = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _NoTokenWarning) for f in bolt_log.filters):
        bolt_log.addFilter(_NoTokenWarning())
    app = DeskApp(
        settings.language,
        # named: without a name Bolt calls inspect.stack(), which reads the source of every
        # module on the stack and maps every loaded module by file (~1 MB per process)
        name="complaint-desk",
        listener_executor=listeners,
        signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
        client=client,
        process_before_response=False,
        token_verification_enabled=token_verification,
        ignoring_self_events_enabled=True,
    )

    @app.middleware
    def dedupe_event_retries(body: dict[str, Any], next: Callable[[], BoltResponse]) -> Any:
        """Slack re-sends an event it thinks we missed; act on each event_id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with desk.transaction() as s:
                if not desk.claim_request(s, f"event:{event_id}", clock()):
                    return BoltResponse(status=200, body="")
        return next()

    @app.middleware
    def personal_language(
        body: dict[str, Any], context: Any, next: Callable[[], BoltResponse]
    ) -> Any:
        """Modals, ephemeral replies and acks are in the person's own language (their
        Slack locale if it is zh-CN or en, else LANGUAGE), set once per request, after the
        signature was checked. Bolt runs its middleware one after another, not nested, so
        this sets the language for the rest of `DeskApp.dispatch`, which restores it; the
        listener inherits it (ListenerExecutor copies the context)."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if event is None or event.get("type") in PERSONAL_EVENTS:  # others render nothing
            set_locale(services.directory.request_locale(context.user_id))
        return next()

    app.error(bad_payload)
    register(app, services)
    return app
