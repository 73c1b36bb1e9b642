"""Issue 9, points 3 and 4: a killed worker leaves no hole and no double; a killed
supervisor takes its children with it. The real `complaint-bot run`, killed with SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from bot.handlers.views import intake_view
from tests.conftest import COMPLAINTS, MKT, SECRET
from tests.slackclient import SlackClient
from tests.test_intake import GOOD
from tests.test_ops import _start_run, _stop, _wait


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone: it holds no socket)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return not re.search(r"^State:\s+Z", status, re.M)


def _children(log: str) -> list[int]:
    return [int(p) for p in re.findall(r"(?:web|worker) process (\d+) started", log)]


def test_killing_the_supervisor_takes_its_children_and_run_starts_again(tmp_path, slack) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    proc, port, log_path = _start_run(first, slack)
    assert _wait(lambda: len(_children(log_path.read_text())) == 2), log_path.read_text()
    children = _children(log_path.read_text())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert _wait(lambda: not any(_alive(p) for p in children), 15), log_path.read_text()
    # the port is free at once: a new run listens on it and answers /healthz
    proc2, port2, log2 = _start_run(second, slack, PORT=str(port))
    out = _stop(proc2, log2)
    assert port2 == port and proc2.returncode == 0, out
    assert "Address already in use" not in out


def test_a_worker_killed_in_a_burst_of_20_acked_forms_loses_and_doubles_nothing(
    tmp_path, slack, database_url
) -> None:
    """20 forms acknowledged; the worker is killed with SIGKILL while Slack has acted on
    posts it has not answered yet (the fake holds each answer 1 s). After the restart
    every card arrives once, and no thread post is made twice: the rows the dead worker
    held are freed by the supervisor, and their posts are looked up by the outbox id in
    the message metadata before being made again. After the restart the waiting cards go
    before the thread posts (issue 9 asks for all 20 cards within 15 s of the restart: the
    time is printed, and bench/README.md records it; the test checks the order that makes
    it so, a channel's burst and then cards first)."""
    proc, port, log_path = _start_run(tmp_path, slack, DATABASE_URL=database_url)
    client = SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET)
    view = json.loads(json.dumps(intake_view(COMPLAINTS)))

    def cards() -> list[dict]:
        return [
            m
            for (ch, ts), m in list(slack.messages.items())
            if ch == COMPLAINTS and m.get("thread_ts") in (None, ts) and "Burst" in str(m)
        ]

    try:
        assert _wait(lambda: len(_children(log_path.read_text())) == 2), log_path.read_text()
        worker = int(re.findall(r"worker process (\d+) started", log_path.read_text())[0])
        slack.delay_responses("chat.postMessage", 1.0)
        for i in range(20):
            reply = client.submit(MKT, view, {**GOOD, "customer": f"Burst {i:02d}"})
            assert (reply.status, reply.body) == (200, ""), reply
        assert _wait(lambda: len(cards()) >= 3, 60), log_path.read_text()
        os.kill(worker, signal.SIGKILL)  # with posts acted on and not yet answered
        killed = time.monotonic()
        slack.delay_responses("chat.postMessage", 0)
        assert _wait(lambda: len(cards()) >= 20, 90), log_path.read_text()
        print(f"\nall 20 cards {time.monotonic() - killed:.1f} s after the kill")
        assert _wait(lambda: _quiet(slack), 60)
    finally:
        slack.delay_responses("chat.postMessage", 0)
        out = _stop(proc, log_path)
    assert "freed" in out and "worker process" in out, out
    print(f"posts found in Slack and not made again: {out.count('not posted again')}")
    after = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.at > killed and c.args.get("channel") == COMPLAINTS
    ]
    kinds = ["thread" if c.args.get("thread_ts") else "card" for c in after]
    # cards first; a worker that finds no unclaimed card left may post a thread while the
    # last cards are still on their way to the channel: at most one per other worker (3)
    last_card = max(i for i, k in enumerate(kinds) if k == "card")
    assert kinds[:last_card].count("thread") <= 3, kinds
    names = sorted(re.search(r"Burst \d\d", str(m)).group(0) for m in cards())
    assert names == [f"Burst {i:02d}" for i in range(20)], names  # each card once
    for card in cards():
        texts = [m["text"] for m in slack.thread(COMPLAINTS, card["ts"])]
        assert len(texts) == len(set(texts)), texts  # no thread post twice


def _quiet(slack) -> bool:
    """No new call for a second: the outbox has nothing left to send."""
    before = len(slack.calls)
    time.sleep(1.0)
    return len(slack.calls) == before
