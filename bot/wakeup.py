"""Telling the worker there is new work, within a process or from a web process.

In one process the worker's loops wait on a `threading.Event`. When `complaint-bot run`
splits the web server from the worker (bot/supervisor.py), the web process writes a byte
to a pipe the supervisor made before forking, and a thread in the worker turns each
byte into a local wake-up. The loops still poll, so a lost byte only costs a poll."""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import select
import struct
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._write_fd: int | None = None

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def send_to(self, write_fd: int) -> None:
        """Also wake the worker process on the other end of this pipe."""
        os.set_blocking(write_fd, False)
        self._write_fd = write_fd

    def __call__(self) -> None:
        for listener in self._listeners:
            listener()
        if self._write_fd is not None:
            # a full pipe already holds a wake-up; a closed one means the worker is
            # restarting and will poll at start anyway
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self._write_fd, b"w")

    def listen_to(self, read_fd: int, stop: threading.Event) -> threading.Thread:
        """Relay wake-ups arriving on this pipe to the listeners, until `stop`."""

        def relay() -> None:
            while not stop.is_set():
                ready, _, _ = select.select([read_fd], [], [], 0.5)
                if not ready:
                    continue
                try:
                    data = os.read(read_fd, 4096)
                except BlockingIOError:
                    continue
                if not data:  # every writer is gone
                    stop.wait(0.5)
                    continue
                for listener in self._listeners:
                    listener()

        os.set_blocking(read_fd, False)
        t = threading.Thread(target=relay, name="wakeup-relay", daemon=True)
        t.start()
        return t


class InFlight:
    """How many Slack requests the web side is answering right now, so that the worker can
    let them go first: an ack has Slack's 3-second limit, a delivery or a tick has none.

    The worker calls `yield_to_requests()` before each piece of work (a stored request, an
    outbox row, a tick): while requests are in flight it waits, but never more than
    `max_wait`, so under a steady stream of requests the work still goes on, only slower.
    Made `shared`, the count lives in an anonymous shared mapping that the supervisor
    creates before forking: the web process counts, the worker process reads."""

    def __init__(self, *, shared: bool = False, max_wait: float = 0.2) -> None:
        self.max_wait = max_wait
        self._mem = mmap.mmap(-1, 8) if shared else None
        self._local = 0
        self._lock = threading.Lock()

    def count(self) -> int:
        if self._mem is None:
            return self._local
        return int(struct.unpack_from("q", self._mem, 0)[0])

    def _add(self, n: int) -> None:
        with self._lock:
            if self._mem is None:
                self._local += n
            else:
                struct.pack_into("q", self._mem, 0, max(0, self.count() + n))

    def started(self) -> None:
        self._add(1)

    def finished(self) -> None:
        self._add(-1)

    def reset(self) -> None:
        """A web process that died mid-request left its count behind (the supervisor)."""
        with self._lock:
            if self._mem is None:
                self._local = 0
            else:
                struct.pack_into("q", self._mem, 0, 0)

    def yield_to_requests(self) -> None:
        if self.count() <= 0:
            return
        deadline = time.monotonic() + self.max_wait
        while self.count() > 0 and time.monotonic() < deadline:
            time.sleep(0.002)


class PollingLoop:
    """A background thread that does rounds of work: at once when woken, else every `poll`
    seconds while a round finds nothing. The inbox worker and the outbox sender."""

    name = "loop"
    poll = 0.5

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> int:
        """One round; returns how much it did (0 = wait for a wake-up or the poll)."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                did = self.round()
            except Exception:  # keep the loop alive whatever one round does
                log.exception("%s: round failed", self.name)
                did = 0
            if did == 0:
                self._wake.wait(self.poll)
                self._wake.clear()
