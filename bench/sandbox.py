"""Figures of `complaint-bot sandbox`: how fast the bot acknowledges what the emulator sends
(Slack gives up after 3 s), how long a page action takes until the page can show its
outcome, and the sandbox process's memory.

    .venv/bin/python -m bench.sandbox [--cases 30] [--db-url URL]

Each case: Marketing's `/complaint new` (opens the modal), the form submitted (filed by the
worker, card, thread post and DM delivered), Technical Quality's "Information complete"
button. Times are wall-clock on this machine, whatever else it is doing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from bot.sandbox.server import COMPLAINTS, PEOPLE, Sandbox
from bot.sandbox.tour import START

MKT, TQ = PEOPLE[0][0], PEOPLE[1][0]
FORM = {
    "customer": "苏州精密电子有限公司",
    "contact": "李工",
    "product": "PCB-A7",
    "lots": "L1",
    "quantity": "10",
    "via": "email",
    "description": "Solder bridges",
}


def memory_kb() -> dict[str, int]:
    """PSS and RSS of this process (the whole sandbox: page, bot, emulator, fake Slack)."""
    out: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Pss", "Rss"):
            out[key.lower()] = int(rest.split()[0])
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    acks: list[float] = []
    actions: dict[str, list[float]] = {"command": [], "submit": [], "click": []}
    with Sandbox(database_url=args.db_url, start=START, ticking=False) as sb:
        emu = sb.emulator
        assert emu is not None
        send = emu._post

        def timed(user: str, body: str, kind: str) -> tuple[int, str]:
            started = time.perf_counter()
            try:
                return send(user, body, kind)
            finally:
                acks.append(time.perf_counter() - started)

        emu._post = timed  # type: ignore[method-assign]

        def page(kind: str, **data: Any) -> dict[str, Any]:
            req = urllib.request.Request(
                f"{sb.url}/api/{kind}",
                data=json.dumps(data).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            started = time.perf_counter()
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = json.loads(r.read())
            actions[kind].append(time.perf_counter() - started)
            return answer

        rest = memory_kb()
        for _ in range(args.cases):
            page("command", user=MKT, channel=COMPLAINTS, text="/complaint new")
            view_id = sb.slack.top_modal(MKT)
            page("submit", user=MKT, view_id=view_id, answers=FORM)
            card = sb.slack.channel_messages(COMPLAINTS)[-1]
            block = next(b for b in card["blocks"] if b["type"] == "actions")
            button = block["elements"][0]
            page(
                "click",
                user=TQ,
                action=button,
                block_id=block["block_id"],
                channel=COMPLAINTS,
                message_ts=card["ts"],
            )
        after = memory_kb()
        cases = sb.bot.desk.count_cases() if sb.bot else 0
    print(f"sandbox bench: {args.cases} cases ({cases} filed), {len(acks)} signed requests")
    print(
        f"  bot ack of the emulator's requests: p50 {statistics.median(acks) * 1000:.0f} ms, "
        f"p95 {pct(acks, 95) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms (Slack's limit 3000)"
    )
    for kind, values in actions.items():
        print(
            f"  page action {kind:<7} until delivered: p50 {statistics.median(values) * 1000:.0f} "
            f"ms, p95 {pct(values, 95) * 1000:.0f} ms"
        )
    print(
        f"  sandbox process PSS: {rest['pss'] / 1024:.0f} MB at start, "
        f"{after['pss'] / 1024:.0f} MB after (RSS {after['rss'] / 1024:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
