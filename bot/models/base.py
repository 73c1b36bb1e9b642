"""Declarative base, column types and the engine/session set-up.

SQLite is the embedded default and PostgreSQL the production database; the
differences that matter (write locking, time zones) are handled here once.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

try:
    import fcntl
except ImportError:  # not POSIX: one process only (WORKER_PROCESS=false)
    fcntl = None  # type: ignore[assignment]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type; storing naive UTC and re-attaching UTC on
    the way out keeps comparisons and arithmetic identical on both databases.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(
    url: str, *, before_transaction: Callable[[], None] | None = None, **kwargs: Any
) -> Engine:
    """Create the engine; on SQLite every transaction takes the write lock up front.

    pysqlite's default deferred transactions let two writers read the same
    row and then fail (or lose an update) when both try to write. BEGIN
    IMMEDIATE serialises writers the way SELECT … FOR UPDATE does on
    PostgreSQL, so the workflow has one concurrency story for both.

    `before_transaction` runs before a thread's outermost transaction begins (before the
    SQLite write lock is asked for), never inside one: the worker waits there for Slack's
    requests in flight, and must not wait while holding a lock a request needs.
    """
    gate = _Gate(before_transaction)
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        if ":memory:" not in url:
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and "mode=memory" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            # SQLite keeps a page cache per connection (2 MiB by default) in the process's
            # own memory, and a process holds up to 20 connections: at 100k cases they
            # filled and cost some 30 MB per process. The operating system caches the file
            # anyway (shared, outside the budget); 512 KiB each keeps the hot index pages.
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

        # Writers queue on a lock before asking SQLite for its write lock: SQLite's busy
        # handler polls with growing sleeps (up to 100 ms), so under load an unlucky
        # writer starves while others get in; a lock hand-off wakes the next writer as
        # soon as the last one commits. The lock spans processes (the web process and the
        # worker of `complaint-bot run` share the file).
        writers = WriterLock(make_url(url).database or "")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            gate.enter()  # before the write lock: never wait while holding it
            # readers (see read_sessions) never write, so they need no write lock; those of
            # single statements need no BEGIN either (each statement is its own read)
            options = conn.get_execution_options()
            if options.get(READ_ONLY, False):
                if not options.get(NO_TRANSACTION, False):
                    conn.exec_driver_sql("BEGIN")
                return
            if not writers.acquire(timeout=60):
                raise TimeoutError("no SQLite write slot within 60 s")
            conn.info["holds_writer_lock"] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _release(conn: Any) -> None:
            gate.leave()
            if conn.info.pop("holds_writer_lock", False):
                writers.release()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    if before_transaction is not None:
        event.listen(engine, "begin", lambda conn: gate.enter())
        event.listen(engine, "commit", lambda conn: gate.leave())
        event.listen(engine, "rollback", lambda conn: gate.leave())
    return engine


# a pooled connection unused for longer than this is tested before it is lent out
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for a connection that has lain idle: the database may have
    restarted, or a firewall dropped it, meanwhile. pre_ping tested every checkout, one
    more round trip for every transaction (a filing takes several, 12 % of the worker's
    time on PostgreSQL at 100k cases); a connection in use moments ago is taken as alive,
    and if it is not, the transaction fails, its connection is dropped, and the inbox or
    the outbox retries it."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:  # read now
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool drops this connection and lends a new one
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the database did not answer a ping")


class _Gate:
    """Calls `before` when a thread opens its outermost transaction on the engine."""

    def __init__(self, before: Callable[[], None] | None) -> None:
        self.before = before
        self._depth = threading.local()

    def enter(self) -> None:
        if self.before is None:
            return
        n = getattr(self._depth, "n", 0)
        if n == 0:
            self.before()
        self._depth.n = n + 1

    def leave(self) -> None:
        if self.before is not None:
            self._depth.n = max(0, getattr(self._depth, "n", 0) - 1)


class WriterLock:
    """A thread lock plus, for a database file, an exclusive `flock` on `<file>-writer.lock`
    (opened once per process: a descriptor inherited through fork() would share the lock
    with the parent instead of excluding it)."""

    def __init__(self, database: str) -> None:
        memory = not database or database == ":memory:" or "mode=memory" in database
        if database.startswith("file:"):  # a URI filename (`?uri=true`): lock the file itself
            database = database[len("file:") :]
        self.path = None if memory or fcntl is None else f"{database}-writer.lock"
        self._thread = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        _writer_locks.add(self)

    def _after_fork(self) -> None:
        # the child starts with no writer: a lock held by another thread of the parent
        # at the fork would otherwise stay held in the child for ever
        self._thread = threading.Lock()

    def acquire(self, timeout: float) -> bool:
        if not self._thread.acquire(timeout=timeout):
            return False
        if self.path is None:
            return True
        try:
            if self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
                # closed with the lock (an engine disposed of, a test's database): the
                # descriptor was kept for ever, and a test run reached select()'s 1024
                weakref.finalize(self, _close_in, self._fd, self._pid)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL, wakes on unlock
        except BaseException:
            self._thread.release()
            raise
        return True

    def release(self) -> None:
        if self.path is not None and self._fd is not None and self._pid == os.getpid():
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()


def _close_in(fd: int, pid: int) -> None:
    """Close a lock file's descriptor in the process that opened it (a forked child keeps
    its copy: closing it there would not matter, and the parent's stays)."""
    if os.getpid() == pid:
        with contextlib.suppress(OSError):
            os.close(fd)


_writer_locks: weakref.WeakSet[WriterLock] = weakref.WeakSet()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: [w._after_fork() for w in list(_writer_locks)])


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


# SQLite page cache per connection, KiB (see make_engine)
SQLITE_CACHE_KIB = 512
READ_ONLY = "complaint_desk_read_only"
# readers of single statements: no transaction around them (see read_sessions)
NO_TRANSACTION = "complaint_desk_no_transaction"


def read_sessions(sessions: sessionmaker, *, autocommit: bool = False) -> sessionmaker:
    """Sessions for reading only. On SQLite they start a plain (deferred) transaction, so
    a page of cases or a card render does not queue behind writers for the write lock.

    With `autocommit` they read without a transaction. On PostgreSQL, at READ COMMITTED, a
    transaction gives a read no snapshot beyond each statement's own, and its BEGIN and
    ROLLBACK were two of the three round trips of a single-statement read (the sender's
    lane heads at every round, a card's case). On SQLite each statement is then its own
    read, as it is on PostgreSQL, without the BEGIN (and the ROLLBACK) that were half the
    statements the worker sent per filing. Not for reads in batches (`yield_per`):
    PostgreSQL declares their cursor only inside a transaction."""
    engine = sessions.kw["bind"]
    options: dict[str, Any] = {READ_ONLY: True}
    if autocommit:
        options[NO_TRANSACTION] = True
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False)


def single_writes(engine: Engine) -> Callable[[], AbstractContextManager[Connection]]:
    """Connections for a write of one statement. On PostgreSQL without a transaction: the
    statement is its own, as durable, and the BEGIN and COMMIT round trips around it are
    spared (psycopg sends each as a command of its own). On SQLite a transaction through
    the engine's write lock (see make_engine)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT").connect
    return engine.begin
