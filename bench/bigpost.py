"""The web process's peak memory under one unsigned 50 MB POST.

Starts `python -m bot run` (SQLite, a fake Slack), reads the web process's peak resident
memory (VmHWM), sends one unsigned POST of `--mb` megabytes to /slack/events, and reads
it again. Bodies over 1 MB are refused before they are read (waitress
max_request_body_size, and a Content-Length check in front of Bolt), so the peak should
not move by the body's size. Run: `.venv/bin/python -m bench.bigpost [--mb 50]`."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import bot_env, setup_fake


def _peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))


def main() -> int:
    from bot.sandbox.fakeslack import FakeSlack

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        setup_fake(fake)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **bot_env(f"sqlite:///{tmp}/big.sqlite3", fake.url),
            "PORT": str(port),
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        log = Path(tmp) / "run.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
            env=env,
            cwd=tmp,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            web = int(re.findall(r"web process (\d+) started", log.read_text())[0])
            before = _peak_kb(web)
            size = args.mb * 1024 * 1024
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.putrequest("POST", "/slack/events")
            conn.putheader("Content-Type", "application/x-www-form-urlencoded")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            chunk = b"x" * (1024 * 1024)
            sent = 0
            try:
                for _ in range(args.mb):
                    conn.send(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the server answered and closed before the whole body was sent
            status = conn.getresponse().status
            time.sleep(0.5)
            after = _peak_kb(web)
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"POST of {args.mb} MB (unsigned), answered {status}; {sent // 2**20} MB sent")
    print(
        f"web process peak RSS (VmHWM): {before / 1024:.1f} MB before, {after / 1024:.1f} MB after"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
