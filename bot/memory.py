"""Keep the bot's processes within their memory budget (the sum of their PSS ≤ 150 MB).

Three things of glibc's malloc made the web and worker processes grow by some 20–30 MB
after a read-heavy sequence and a burst, and keep it:

- one malloc arena per thread that allocates (up to 8 per core): the web process's 16
  waitress threads each leave their arena's freed memory behind. Two arenas suffice for
  processes whose threads mostly wait on sockets and the database.
- blocks over 128 kB (a long case's rendered timeline, a page of rows) are mmap()ed and
  unmapped when freed, until one is freed: then glibc raises that threshold (up to 32 MB)
  and later large blocks are carved from the heap, where they stay. The threshold is
  fixed at 128 kB.
- freed memory at the top of an arena, or in whole free pages inside it, stays with the
  process until `malloc_trim`, which the web and worker processes call every 30 s.

Both are no-ops where the C library is not glibc (macOS, musl)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from typing import Any

M_ARENA_MAX = -8  # <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
ARENAS = 2
TRIM_EVERY_SECONDS = 30.0


def _libc() -> Any:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt"):
            return libc
    return None


def tune_malloc() -> None:
    """Before any thread starts (the supervisor, before it forks; the children inherit
    it): at most `ARENAS` arenas, and large blocks always given back."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, ARENAS)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim() -> None:
    """Free the garbage cycles of the oldest generation (sessions, rendered views), which
    the collector reaches rarely, then give the heap's free pages back to the system. The
    modules' objects were frozen before the fork (bot/supervisor.py), so this is quick."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def trim_periodically(stop: threading.Event, every: float = TRIM_EVERY_SECONDS) -> None:
    """A daemon thread trimming every `every` seconds until `stop` is set: a trim takes a
    few milliseconds, and memory freed after a burst goes back within that time."""

    def loop() -> None:
        while not stop.wait(every):
            trim()

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()
