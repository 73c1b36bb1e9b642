"""Issue 9, points 3 and 4: a killed worker leaves no hole and no double; a killed
supervisor takes its children with it. The real `complaint-bot run`, killed with SIGKILL."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

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
