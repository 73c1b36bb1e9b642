"""Make files in a helper process, so the worker does not keep fpdf2, fontTools, Pillow
and openpyxl in its memory (30–45 MB once a file is made, against the bot's memory
budget).

The helper is forked from the worker on the first file and stays while files are being
made (a report after another is then as fast as in-process: libraries loaded, font read);
after `IDLE_SECONDS` without work it exits and its memory is returned. It gets plain data
(a `Doc`, rows) and gives back bytes: it never touches the database."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

IDLE_SECONDS = 60.0

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_timer: threading.Timer | None = None
_busy = 0
_forking = False  # set while this module forks its helper


def _after_fork_in_child() -> None:
    """In the helper, never collect what was inherited from the worker. A SQLite
    connection of another worker thread, collected here, takes SQLite's mutex, which that
    thread may have held at the fork: the helper then waits forever (and so does the file
    it was to make). Frozen, the inherited objects are simply left alone."""
    if _forking:
        gc.freeze()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run(fn: Callable[..., bytes], *args: Any) -> bytes:
    """`fn(*args)` in the helper process (in this one where there is no fork())."""
    global _pool, _timer, _busy, _forking
    if not hasattr(os, "fork"):
        return fn(*args)
    with _lock:
        if _timer is not None:
            _timer.cancel()
            _timer = None
        fresh = _pool is None
        if fresh:
            _pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        pool = _pool
        _busy += 1
    try:
        if fresh:  # the first submit forks the helper, in this thread
            with _lock:
                _forking = True
                try:
                    future = pool.submit(fn, *args)
                finally:
                    _forking = False
        else:
            future = pool.submit(fn, *args)
        return future.result()
    except BrokenProcessPool:
        with _lock:  # the helper died (killed, out of memory): the next file starts anew
            if _pool is pool:
                _pool = None
        raise
    finally:
        with _lock:
            _busy -= 1
            if _busy == 0 and _pool is not None:
                _timer = threading.Timer(IDLE_SECONDS, close)
                _timer.daemon = True
                _timer.start()


def close() -> None:
    """Stop the helper now (when idle; also at shutdown)."""
    global _pool
    with _lock:
        if _busy:
            return
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def alive() -> bool:
    with _lock:
        return _pool is not None
