"""Leases on claimed inbox and outbox rows: who holds a row, for how long.

A claim used to last a fixed 120 s: a worker killed with SIGKILL left the rows it held
waiting out that time (cards two minutes late). Now a claim is a short lease that the
holder renews while it works (`LeaseKeeper`), so a dead holder's rows come back within
`LEASE_SECONDS`, and the supervisor, which sees its child die, frees them at once
(`release`). `claimed_by` stays on a freed row: the next holder then knows the last
attempt ended without an outcome and checks Slack before posting again."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from bot.models.base import utcnow
from bot.models.inbox import Inbox, InboxStatus
from bot.models.outbox import Outbox, OutboxStatus

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
RENEW_EVERY = LEASE_SECONDS / 3

_TABLES = ((Inbox, InboxStatus.PENDING), (Outbox, OutboxStatus.PENDING))


@functools.cache
def _host() -> str:
    return socket.gethostname()


def owner_id(pid: int | None = None) -> str:
    """This process (or child `pid` of it) as a lease holder: host:pid. The host name is
    asked once (a system call at every claim was 2-3 % of the inbox worker's CPU)."""
    return f"{_host()}:{pid or os.getpid()}"[:64]


def lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=LEASE_SECONDS)


def renew(engine: Engine, owner: str, now: datetime | None = None) -> int:
    """Extend every lease `owner` holds; returns how many rows it holds."""
    until = lease_until(now or utcnow())
    held = 0
    with engine.begin() as conn:
        for table, pending in _TABLES:
            held += conn.execute(
                update(table)
                .where(
                    table.claimed_by == owner,
                    table.status == pending,
                    table.claimed_until.is_not(None),
                )
                .values(claimed_until=until)
            ).rowcount
    return held


def release(engine: Engine, owner: str) -> int:
    """Free the rows a dead process held (the supervisor, when its child dies)."""
    freed = 0
    with engine.begin() as conn:
        for table, pending in _TABLES:
            freed += conn.execute(
                update(table)
                .where(table.claimed_by == owner, table.status == pending)
                .values(claimed_until=None)
            ).rowcount
    return freed


class LeaseKeeper:
    """Renews this process's leases every `RENEW_EVERY` seconds while it runs."""

    def __init__(self, engine: Engine, owner: Callable[[], str] = owner_id) -> None:
        self.engine = engine
        self.owner = owner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(RENEW_EVERY):
            try:
                renew(self.engine, self.owner())
            except Exception:  # noqa: BLE001 - the next round tries again; leases last 3 rounds
                log.warning("could not renew leases", exc_info=True)
