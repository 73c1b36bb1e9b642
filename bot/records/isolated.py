"""Make files in a helper process, so the worker does not keep fpdf2, fontTools, Pillow
and openpyxl in its memory (30–45 MB once a file is made, against the bot's memory
budget).

The helper is a new interpreter (fork and exec, `subprocess`), not a fork of the worker: a
fork of a process with threads copies every lock as it stands, and one held by another
thread at that moment (the import lock, a logging handler's) is held for ever in the
child, which then hangs in its first import and every outbox thread behind it. It is
started on the first file and stays while files are made (libraries loaded, font read);
after `RECORDS_IDLE_SECONDS` (10 s) without work it exits and its memory (60 MB, 100 MB
once it has drawn charts with matplotlib) is returned: the bot's budget of 150 MB for
all its processes holds only without it.

`run(fn, *args)` pickles the call, so `fn` and the classes of its arguments must live in
modules that do not import the models (bot/records/{doc,pdf,sheets,fonts,words}.py):
anything `content` or `make` pulls in (SQLAlchemy, the workflow) would be loaded in the
helper too, some 34 MB. It gets plain data and gives back what `fn` returns; it never
touches the database.

Every wait on the helper is bounded by `timeout` (RECORDS_TIMEOUT_SECONDS): a helper that
does not answer in time, or has died, is killed and `HelperFailed` raised, which the
outbox retries like a dropped connection (the next attempt starts a new helper)."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

IDLE_SECONDS = 10.0  # the default of RECORDS_IDLE_SECONDS
_HEAD = struct.Struct("!Q")


class HelperFailed(TimeoutError):
    """The records helper did not answer in time, or died: the file is made again on the
    outbox's next attempt (`retry`: not failed for good; bot/slack/gateway.py classify)."""

    retry = True


class _Helper:
    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])  # where the `bot` package is
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        code = f"from bot.records.isolated import serve; serve({theirs.fileno()})"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env={**os.environ, "PYTHONPATH": path},
            )
        finally:
            theirs.close()
        self.sock = ours

    def call(self, request: bytes, deadline: float) -> bytes:
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        self.sock.sendall(_HEAD.pack(len(request)) + request)
        return _recv(self.sock, deadline)

    def stop(self, kill: bool) -> None:
        """Close the connection (the helper exits when it reads the end); `kill`: also
        SIGKILL, for one that is stuck (stopped, or hanging in a call)."""
        self.sock.close()
        if kill:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # uninterruptible sleep
                self.proc.wait(timeout=5)


_lock = threading.Lock()  # one call at a time; guards the globals below
_helper: _Helper | None = None
_timer: threading.Timer | None = None
_timeout = 120.0
_idle = IDLE_SECONDS


def configure(timeout: float, idle: float = IDLE_SECONDS) -> None:
    """The longest wait for the helper, for one file and for a turn, and how long it stays
    without work (settings: RECORDS_TIMEOUT_SECONDS, RECORDS_IDLE_SECONDS)."""
    global _timeout, _idle
    _timeout, _idle = timeout, idle


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in the helper process (in this one where there is no fork());
    raises `HelperFailed` when the helper is stuck or dies, and `fn`'s own exception when
    it raised one."""
    global _helper, _timer
    if not hasattr(os, "fork"):
        return fn(*args, **kwargs)
    request = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    if not _lock.acquire(timeout=_timeout):
        raise HelperFailed(f"records helper busy with other files for {_timeout:.0f} s")
    try:
        if _timer is not None:
            _timer.cancel()
            _timer = None
        if _helper is not None and _helper.proc.poll() is not None:
            _helper.stop(kill=False)  # exited (killed, out of memory) while idle
            _helper = None
        if _helper is None:
            _helper = _Helper()
        helper = _helper
        try:
            ok, value = pickle.loads(helper.call(request, time.monotonic() + _timeout))
        except (OSError, EOFError) as exc:  # socket timeout (a TimeoutError), broken pipe
            _helper = None
            helper.stop(kill=True)
            what = f"no answer in {_timeout:.0f} s" if isinstance(exc, TimeoutError) else exc
            raise HelperFailed(f"records helper {helper.proc.pid}: {what}; stopped") from exc
        _timer = threading.Timer(_idle, close)
        _timer.daemon = True
        _timer.start()
    finally:
        _lock.release()
    if not ok:
        raise value
    return value


def close() -> None:
    """Stop the helper now (when idle; also at shutdown)."""
    global _helper
    if not _lock.acquire(timeout=0.5):  # a file is being made: the next idle timer stops it
        return
    try:
        helper, _helper = _helper, None
    finally:
        _lock.release()
    if helper is not None:
        helper.stop(kill=False)


def pid() -> int | None:
    """The helper's process id while one runs (for the benchmark's memory figures)."""
    helper = _helper
    return helper.proc.pid if helper is not None and helper.proc.poll() is None else None


def _recv(sock: socket.socket, deadline: float) -> bytes:
    def exactly(n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            if deadline:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                sock.settimeout(left)
            part = sock.recv(min(n - got, 1 << 20))
            if not part:
                raise EOFError("the other end closed")
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    (size,) = _HEAD.unpack(exactly(_HEAD.size))
    return exactly(size)


def _die_with_parent() -> None:
    """Linux: killed when the worker dies, even while stuck in a call (an idle helper
    reads the closed connection and exits by itself anyway)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def serve(fd: int) -> None:
    """The helper's loop: one call after another until the worker closes the connection."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the bot, which stops us
    _die_with_parent()
    sock = socket.socket(fileno=fd)
    sock.settimeout(None)
    while True:
        try:
            request = _recv(sock, 0.0)
        except (EOFError, OSError):
            return
        try:
            fn, args, kwargs = pickle.loads(request)
            answer = (True, fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - raised again in the worker
            answer = (False, exc)
        try:
            reply = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an exception that cannot be pickled
            reply = pickle.dumps((False, RuntimeError(f"{exc.__class__.__name__}: {exc}")))
        try:
            sock.sendall(_HEAD.pack(len(reply)) + reply)
        except OSError:
            return
