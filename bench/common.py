"""Shared by the bench process and the server process: who is who, settings, statistics."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import make_url

SECRET = "bench-signing-secret-0123456789abcdef"
# the same people and channels as tests/conftest.py, so the role checks run as in
# production (copied, not imported: the server processes must not load the test suite)
MKT, MKT2 = "U0MKT1", "U0MKT2"
TQ, TQ2 = "U0TQ1", "U0TQ2"  # TQ2 holds Technical Quality through the user group S0TQGRP
MGR, MGR2 = "U0MGR1", "U0MGR2"
PROD, DEV = "U0PROD1", "U0DEV1"
TQ_GROUP = "S0TQGRP"
COMPLAINTS, MANAGEMENT = "C0COMPLAIN", "C0MANAGE"
BOT_USER = "UBOT000001"

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
FORBIDDEN_DATABASES = frozenset({"test", "postgres", "template0", "template1"})


def bot_env(database_url: str, slack_url: str) -> dict[str, str]:
    """The bot's environment for the bench: roles configured like the tests, no scheduler."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-bench-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": database_url,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "MANAGEMENT_CHANNEL": MANAGEMENT,
        "TIMEZONE": "Asia/Shanghai",
        "HOLIDAY_COUNTRY": "CN",
        "MARKETING_USERS": f"{MKT},{MKT2}",
        "QUALITY_USERS": f"{TQ},{TQ_GROUP}",
        "MANAGEMENT_USERS": f"{MGR},{MGR2}",
        "RESPONSIBLE_UNITS": f"production={PROD};development={DEV};purchasing=;warehouse=",
        "SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": "INFO",
    }


def setup_fake(fake: Any) -> None:
    """Channels and the user group the bot expects, as the tests' `slack` fixture does."""
    fake.set_usergroup(TQ_GROUP, [TQ2])
    for ch, name in ((COMPLAINTS, "complaints"), (MANAGEMENT, "management")):
        fake.set_channel(ch, name=name, members=[BOT_USER, MKT, TQ, MGR])


def check_database_name(url: str) -> None:
    """Refuse the shared databases: the tests drop the schema of `test`."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and (u.database or "") in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing to benchmark in database {u.database!r}; use `bench`")


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (p in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(latencies_ms: Sequence[float], errors: int) -> dict[str, Any]:
    xs = sorted(latencies_ms)
    return {
        "count": len(xs),
        "errors": errors,
        "p50_ms": round(percentile(xs, 50), 2),
        "p95_ms": round(percentile(xs, 95), 2),
        "p99_ms": round(percentile(xs, 99), 2),
        "max_ms": round(xs[-1], 2) if xs else math.nan,
        "mean_ms": round(sum(xs) / len(xs), 2) if xs else math.nan,
    }


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM (kB) and CPU seconds of a process, from /proc."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(rest.split()[0])
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        out["cpu_user_ms"] = int(int(fields[11]) * 1000 / ticks)
        out["cpu_sys_ms"] = int(int(fields[12]) * 1000 / ticks)
        out["cpu_ms"] = out["cpu_user_ms"] + out["cpu_sys_ms"]
        out["nice"] = int(fields[16])  # the bot's worker runs at nice 10
    except (OSError, ValueError, IndexError):
        pass
    return out


def descendants(pid: int) -> list[int]:
    """pid and every process below it (the bot's supervisor, web and worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kb(pid: int) -> int:
    """Proportional set size: resident pages, each shared page divided among the processes
    sharing it, so the sum over a process tree is the memory the tree really occupies."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_status(pid: int) -> dict[str, Any]:
    """CPU and memory of a process and its descendants: CPU summed, RSS per process and
    summed (shared pages counted in each), PSS summed (shared pages counted once)."""
    procs = []
    for p in descendants(pid):
        st = proc_status(p)
        if st:
            procs.append({"pid": p, **st, "Pss": pss_kb(p)})
    out: dict[str, Any] = {"processes": procs}
    for key in ("cpu_ms", "cpu_user_ms", "cpu_sys_ms", "VmRSS", "Pss"):
        out[key] = sum(int(p.get(key, 0)) for p in procs)
    out["VmHWM_max"] = max((int(p.get("VmHWM", 0)) for p in procs), default=0)
    return out
