"""The records helper process (bot/records/isolated.py) is bounded: a helper that stops
answering is killed after RECORDS_TIMEOUT_SECONDS and the file is made again by a new
one, so the outbox row is delivered on a later attempt rather than waited on for ever or
failed for good. The helper is stopped for real (SIGSTOP), as a hung import would."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from bot.models import Outbox, OutboxStatus
from bot.records import isolated
from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import MKT, TQ, Clock, Running, make_settings, run_bot
from tests.test_records import _to_approval, dm_channel, pdf_text

TIMEOUT = 3


@pytest.fixture
def bounded(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    settings = make_settings(database_url, slack.url, RECORDS_TIMEOUT_SECONDS=str(TIMEOUT))
    yield from run_bot(settings, clock, slack)


def helpers() -> list[int]:
    """This process's children that are records helpers, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"bot.records.isolated" in cmd:
            found.append(int(entry))
    return found


def test_a_stopped_helper_is_replaced_and_the_file_still_delivered(bounded: Running) -> None:
    r = bounded
    case = _to_approval(r)
    r.client.command(MKT, f"report {case.ref}")
    r.settle()
    [first] = helpers()  # it made that report
    os.kill(first, signal.SIGSTOP)  # hangs like a helper stuck on an inherited lock
    try:
        reply = r.client.command(MKT, f"report {case.ref}")
        assert "on its way" in reply.body
        started = time.monotonic()
        # the retry waits for the procedure clock, which only the test moves
        while len(r.fake.uploaded(dm_channel(MKT))) < 2 and time.monotonic() - started < 90:
            r.clock.advance(seconds=1)
            time.sleep(0.2)
        r.settle()
    finally:
        if os.path.exists(f"/proc/{first}"):
            os.kill(first, signal.SIGKILL)
    _, dm = r.fake.uploaded(dm_channel(MKT))
    assert case.ref in pdf_text(dm["content"])
    assert first not in helpers()  # killed (and reaped), not left stopped
    assert helpers() and helpers() != [first]  # the file came from a new helper
    with r.desk.sessions() as s:
        _, row = s.scalars(select(Outbox).where(Outbox.kind == "dm_file").order_by(Outbox.id))
    assert row.status == OutboxStatus.SENT
    assert row.attempts >= 2
    assert f"records helper {first}" in (row.last_error or "")


def test_the_helper_does_not_load_the_database_layer(running: Running) -> None:
    """The calls it gets name only light modules (doc, pdf, sheets, charts): the models
    and SQLAlchemy (34 MB) stay in the worker."""
    r = running
    case = _to_approval(r)
    r.client.command(TQ, "register 2026-03")
    r.client.command(TQ, "stats 2026-03")
    r.client.command(MKT, f"report {case.ref}")
    r.settle()
    assert len(r.fake.uploaded(dm_channel(TQ))) == 3  # XLSX, CSV, PNG
    loaded = isolated.run(eval, "sorted(__import__('sys').modules)")
    assert {"fpdf", "openpyxl", "matplotlib"} <= set(loaded)  # it made every kind of file
    assert not [m for m in loaded if m.startswith(("sqlalchemy", "bot.models", "bot.workflow"))]
    assert isolated.pid() in helpers()


def test_an_idle_helper_exits_and_the_next_file_starts_a_new_one(
    database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    """RECORDS_IDLE_SECONDS after its last file the helper exits, so its 60–100 MB are
    not held between files (the bot's memory budget); the next file starts a new one."""
    settings = make_settings(database_url, slack.url, RECORDS_IDLE_SECONDS="1")
    with contextmanager(run_bot)(settings, clock, slack) as r:
        case = _to_approval(r)
        r.client.command(MKT, f"report {case.ref}")
        r.settle()
        [first] = helpers()
        started = time.monotonic()
        while helpers() and time.monotonic() - started < 30:  # bounded: 1 s is asked
            time.sleep(0.2)
        assert helpers() == []
        assert isolated.pid() is None
        r.client.command(MKT, f"report {case.ref}")
        r.settle()
        assert len(r.fake.uploaded(dm_channel(MKT))) == 2
        [second] = helpers()
        assert second != first
