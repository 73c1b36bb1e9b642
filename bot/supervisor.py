"""`complaint-bot run` with WORKER_PROCESS=true: a web process and a worker process.

The web process only answers Slack: it checks the signature, validates, stores a form or
a click in the inbox (one short transaction) and acks, and opens modals. The worker files
the cases, takes the steps, delivers the outbox and runs the scheduler. Python runs one
thread at a time per process, so in a single process a burst of deliveries and filings
queues every ack behind it; split, the acks never wait for the work, and the work runs
on the machine's other core, a little below the web process's priority.

This process stays small: it migrates the database, opens the listening socket, forks
the two children, restarts a child that dies (with a growing pause) and passes SIGTERM /
SIGINT on. The children share the modules imported here, copy-on-write.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from bot import memory
from bot.config import EXIT_CONFIG, Settings
from bot.slack.reach import SlackUnreachable, TokenRefused
from bot.wakeup import InFlight

log = logging.getLogger("bot.supervisor")

WORKER_NICENESS = 10  # acks have Slack's 3-second limit; deliveries and ticks do not
WEB_THREADS = 16
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def serve_http(bot: Any, sock: socket.socket | None, host: str, port: int) -> Callable[[], None]:
    """Start waitress on `sock` (or host:port) in a thread; returns its stop function."""
    from waitress import create_server

    from bot.httpguard import MAX_BODY

    # waitress refuses a longer body before buffering it (and a chunked one as it grows)
    limits = {"threads": WEB_THREADS, "max_request_body_size": MAX_BODY}
    if sock is not None:
        server = create_server(bot.wsgi(), sockets=[sock], **limits)
    else:
        server = create_server(bot.wsgi(), host=host, port=port, **limits)

    def run() -> None:
        with contextlib.suppress(OSError):  # the socket is closed under select() on stop
            server.run()

    threading.Thread(target=run, name="waitress", daemon=True).start()
    return server.close


def serve_socket_mode(bot: Any, settings: Settings) -> Callable[[], None]:
    """Connect to Slack in the background ("connected" is logged on Slack's hello; until
    then /healthz says not connected); returns the function that closes the connection."""
    from bot.socketmode import SocketModeClient

    client = SocketModeClient(bot.app, settings.slack_app_token or "", settings.slack_api_url)
    bot.socket = client
    client.connect()
    return client.close


def check_app_token(settings: Settings) -> None:
    """Socket Mode: stop with one line if Slack refuses the app-level token, rather than
    start processes that can never connect. Slack unreachable is no refusal: the
    connection is retried."""
    from bot.socketmode import app_token_refusal, refusal_fix

    try:
        error = app_token_refusal(settings.slack_app_token or "", settings.slack_api_url)
    except OSError as exc:
        log.warning("could not check SLACK_APP_TOKEN, Slack unreachable: %s", exc)
        return
    if error:
        raise SystemExit(f"Slack refused SLACK_APP_TOKEN ({error}): {refusal_fix(error)}")


def wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


def build_checked(settings: Settings, **kwargs: Any) -> Any:
    """`bot.app.build`, with Bolt's start-up auth.test failures turned into one line:
    TokenRefused (settings must change: not restarted) or SlackUnreachable."""
    from slack_bolt.error import BoltError

    from bot.app import build
    from bot.slack.gateway import Gateway
    from bot.slack.reach import check_token, unreachable_reason

    try:
        return build(settings, **kwargs)
    except BoltError:
        check_token(Gateway(settings.slack_bot_token, settings.slack_api_url))
        raise
    except OSError as exc:
        reason = unreachable_reason(exc) or f"{exc.__class__.__name__}: {exc}"
        raise SlackUnreachable(f"Slack unreachable: {reason}") from exc


def run_single(settings: Settings, host: str) -> int:
    """Everything in this process (WORKER_PROCESS=false)."""
    memory.tune_malloc()
    bot = build_checked(settings)
    log.info("complaint desk, one process %d: %s", os.getpid(), settings.describe())
    bot.start_background()
    try:
        closers = [serve_http(bot, None, host, settings.port)]  # /healthz in both modes
        if settings.socket_mode:
            closers.append(serve_socket_mode(bot, settings))
        wait_for_signal()
        for close in closers:
            close()
    finally:
        log.info("stopping")
        bot.stop()
    return 0


def die_with_parent(parent: int) -> None:
    """Make this forked child go when the supervisor goes, even by SIGKILL: a web process
    left behind keeps the port, and the next `complaint-bot run` cannot listen on it.
    Linux: the kernel sends SIGTERM (PR_SET_PDEATHSIG). Elsewhere a thread watches for
    the parent to change (it becomes init, or a subreaper, when ours dies)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _child(
    role: str,
    settings: Settings,
    sock: socket.socket | None,
    pipe: tuple[int, int],
    host: str,
    in_flight: InFlight,
    port: int,
    parent: int,
) -> int:
    read_fd, write_fd = pipe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which stops us
    if role == "worker":
        os.close(write_fd)
        if sock is not None:
            sock.close()
        os.nice(WORKER_NICENESS)
        bot = build_checked(settings, run_migrations=False, role="worker", in_flight=in_flight)
        relay_stop = threading.Event()
        bot.wakeup.listen_to(read_fd, relay_stop)
        bot.start_background()
        closers: list[Callable[[], None]] = [relay_stop.set]
    else:
        os.close(read_fd)
        bot = build_checked(settings, run_migrations=False, role="web", in_flight=in_flight)
        bot.wakeup.send_to(write_fd)
        closers = [serve_http(bot, sock, host, settings.port)]  # /healthz in both modes
        if settings.socket_mode:
            closers.append(serve_socket_mode(bot, settings))
    memory.trim_periodically(stop_trim := threading.Event())
    closers.append(stop_trim.set)
    log.info("%s process %d started: %s", role, os.getpid(), settings.describe(port))
    try:
        wait_for_signal()
        for close in closers:
            close()
    finally:
        bot.stop()
        log.info("%s process %d stopped", role, os.getpid())
    return 0


class Supervisor:
    def __init__(self, settings: Settings, host: str) -> None:
        self.settings = settings
        self.host = host
        self.children: dict[int, tuple[str, float]] = {}
        self.stopping = False
        self.sock: socket.socket | None = None
        self.pipe = os.pipe()
        self.in_flight = InFlight(shared=True)
        self.exit_code = 0
        self.stopped = threading.Event()  # set by SIGTERM / SIGINT; cuts a restart pause short

    def listen(self) -> None:
        """HTTP mode: Slack's requests and /healthz; Socket Mode: /healthz only."""
        sock = socket.create_server((self.host, self.settings.port), backlog=1024)
        sock.set_inheritable(True)
        self.sock = sock

    def migrate(self) -> None:
        """Migrate in a short-lived child: Alembic is then never loaded in this process,
        and so not in the web and worker processes forked from it."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                from bot.db import migrate
                from bot.models import make_engine

                engine = make_engine(self.settings.database_url)
                migrate(engine)
                engine.dispose()
                code = 0
            except BaseException:  # noqa: BLE001 - reported, and the exit code says it
                log.exception("could not migrate the database")
            finally:
                logging.shutdown()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("the database could not be migrated (see the log above)")

    def spawn(self, role: str) -> None:
        if role == "web":
            self.in_flight.reset()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                code = _child(
                    role,
                    self.settings,
                    self.sock,
                    self.pipe,
                    self.host,
                    self.in_flight,
                    self.port,
                    parent,
                )
            except TokenRefused as exc:  # restarting cannot help: someone must edit .env
                log.error("%s", exc)
                code = EXIT_CONFIG
            except SlackUnreachable as exc:  # the network may come back: restarted
                log.error("%s process: %s", role, exc)
            except BaseException:  # noqa: BLE001 - logged; the supervisor restarts us
                log.exception("%s process crashed", role)
            finally:
                logging.shutdown()
                os._exit(code)
        self.children[pid] = (role, time.monotonic())

    def free_claims(self, pid: int) -> None:
        """Give back at once the inbox and outbox rows a dead child held, rather than let
        its leases run out: the restarted worker takes them up straight away."""
        from bot.models import make_engine
        from bot.models.leases import owner_id, release

        try:
            engine = make_engine(self.settings.database_url)
            try:
                freed = release(engine, owner_id(pid))
            finally:
                engine.dispose()
        except Exception:  # noqa: BLE001 - the leases run out anyway
            log.warning("could not free the claims of process %d", pid, exc_info=True)
            return
        if freed:
            log.info("freed %d claimed row(s) of process %d", freed, pid)

    def _signal(self, signum: int, _frame: Any) -> None:
        self.stopping = True
        self.stopped.set()
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        from sqlalchemy import make_url

        memory.tune_malloc()  # before any thread: the children inherit it
        import bot.app  # noqa: F401 - imported here, so the children share its pages
        from bot import i18n
        from bot.workflow import calendar

        i18n.preload()  # Babel's CLDR data and the catalogs, shared by the children too
        calendar.preload(self.settings.holiday_country)  # the holidays library's countries

        # the database driver too (psycopg loads libpq and its own modules: ~9 MB of PSS
        # saved on PostgreSQL when the two children share them)
        make_url(self.settings.database_url).get_dialect().import_dbapi()

        self.migrate()  # once, before any child connects

        self.listen()
        log.info("supervisor %d: %s", os.getpid(), self.settings.describe(self.port))
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        gc.freeze()  # the collector would otherwise write to (and so copy) shared pages
        for role in ("worker", "web"):
            self.spawn(role)
        pauses: dict[str, float] = {"worker": 0.0, "web": 0.0}
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            child = self.children.pop(pid, None)
            if child is None or self.stopping:
                continue
            role, started = child
            code = os.waitstatus_to_exitcode(status)
            self.free_claims(pid)
            if code == EXIT_CONFIG:  # failed its start-up checks: stop, as a restart would
                self._signal(signal.SIGTERM, None)
                self.exit_code = EXIT_CONFIG
                continue
            # a child that ran a while gets restarted at once; one that keeps dying, slower
            lived = time.monotonic() - started
            pauses[role] = 0.0 if lived > 60 else min(30.0, pauses[role] * 2 or 1.0)
            log.error(
                "%s process %d exited (%s); restarting in %.0fs", role, pid, code, pauses[role]
            )
            self.stopped.wait(pauses[role])  # not time.sleep: Ctrl-C must not wait it out
            if not self.stopping:
                self.spawn(role)
        log.info("stopped")
        return self.exit_code

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1] if self.sock is not None else self.settings.port


def check_slack(settings: Settings) -> int | None:
    """One auth.test before anything starts: a refused token ends the start here, in one
    line (EXIT_CONFIG); an unreachable Slack is said once, and the bot starts anyway."""
    from bot.slack.gateway import Gateway
    from bot.slack.reach import check_token

    gw = Gateway(settings.slack_bot_token, settings.slack_api_url)
    try:
        check_token(gw)
    except TokenRefused as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except SlackUnreachable as exc:
        log.warning("%s; starting anyway, and trying again", exc)
    finally:
        gw.close()
    return None


def run(settings: Settings, host: str) -> int:
    refused = check_slack(settings)
    if refused is not None:
        return refused
    if settings.socket_mode:
        check_app_token(settings)
    try:
        if not settings.worker_process or not hasattr(os, "fork"):
            return run_single(settings, host)
        if _in_memory(settings.database_url):
            log.warning("an in-memory database cannot be shared by two processes; one process")
            return run_single(settings, host)
        return Supervisor(settings, host).run()
    except TokenRefused as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except SlackUnreachable as exc:
        log.error("%s", exc)
        return 1


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and (":memory:" in url or url.rstrip("/") == "sqlite:")
