"""Socket Mode timings: acks around a connection refresh, reconnection after a drop, and
how long Ctrl-C / SIGTERM take to stop `complaint-bot run`.

    .venv/bin/python -m bench.socket [--rounds 10] [--builtin] [--no-run]

The real bot (build() and the supervisor's Socket Mode wiring) against the local Socket
Mode endpoint (bot/sandbox/socketmode.py) behind the fake Slack. Ack times are taken at
the endpoint: from sending an envelope to reading its ack. `--builtin` measures slack_sdk's
built-in client (Bolt's SocketModeHandler) the same way, for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import COMPLAINTS, MKT, bot_env, setup_fake, tree_status
from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.socketmode import Envelope, SocketModeServer

APP_TOKEN = "xapp-1-A0000TEST-1-bench"
ROOT = Path(__file__).resolve().parent.parent


def _command() -> dict[str, str]:
    """`/complaint help` as Slack sends it: the bot answers it in the ack itself."""
    return {
        "token": "legacy",
        "team_id": "T0000TEST",
        "channel_id": COMPLAINTS,
        "user_id": MKT,
        "command": "/complaint",
        "text": "help",
        "api_app_id": "A0000TEST",
        "response_url": "https://hooks.slack.com/commands/T0000TEST/1/x",
        "trigger_id": "1.1.bench",
    }


def _ack_ms(env: Envelope) -> float:
    return float("inf") if env.ack_seconds is None else env.ack_seconds * 1000


def _request(server: SocketModeServer) -> Envelope:
    """A command and its ack; no connection open counts as never acked."""
    try:
        return server.request("slash_commands", _command())
    except ConnectionError:
        return Envelope("none", "slash_commands", {}, time.monotonic(), 0)


def _hellos_after(server: SocketModeServer, n: int, timeout: float = 30.0) -> float | None:
    """Seconds until the endpoint has greeted `n` connections (None: not within timeout)."""
    start = time.monotonic()
    return time.monotonic() - start if server.wait_for_hellos(n, timeout) else None


def _stream(server: SocketModeServer, stop: threading.Event, out: list[Envelope]) -> None:
    """Send a command every 20 ms while a refresh happens, as a busy workspace would."""
    while not stop.is_set():
        # between connections a send fails; Slack would hold the envelope meanwhile
        with contextlib.suppress(Exception):
            out.append(server.send("slash_commands", _command()))
        time.sleep(0.02)


def measure_client(fake: FakeSlack, rounds: int, builtin: bool) -> dict[str, Any]:
    from bench.common import SECRET
    from bot.app import build
    from bot.config import load_settings
    from bot.supervisor import serve_socket_mode

    server: SocketModeServer = fake.socket_mode
    tmp = tempfile.mkdtemp(prefix="bench-socket-")
    env = bot_env(f"sqlite:///{tmp}/socket.sqlite3", fake.url)
    env.update(SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=SECRET)
    settings = load_settings(env, dotenv=False)
    bot = build(settings)
    bot.start_background()
    hellos = server.hellos
    if builtin:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk import WebClient

        handler = SocketModeHandler(
            bot.app, APP_TOKEN, web_client=WebClient(base_url=settings.slack_api_url)
        )
        handler.connect()
        close: Callable[[], None] = handler.close
    else:
        close = serve_socket_mode(bot, settings)
    try:
        assert _hellos_after(server, hellos + 1) is not None, "no connection"
        baseline = [_ack_ms(server.request("slash_commands", _command())) for _ in range(50)]

        worst_refresh: list[float] = []
        first_after_refresh: list[float] = []
        switch: list[float] = []
        for _ in range(rounds):
            sent: list[Envelope] = []
            stop = threading.Event()
            streamer = threading.Thread(target=_stream, args=(server, stop, sent))
            streamer.start()
            time.sleep(0.2)
            hellos = server.hellos
            server.refresh()
            took = _hellos_after(server, hellos + 1)
            switch.append((took or float("inf")) * 1000)
            time.sleep(0.3)
            first = _request(server)  # on the new connection
            first_after_refresh.append(_ack_ms(first))
            time.sleep(1.5)
            stop.set()
            streamer.join()
            for e in sent:
                e.done.wait(5)
            worst_refresh.append(max([_ack_ms(e) for e in sent] + [_ack_ms(first)]))
            # the old connection closes itself after the grace; let it before the next round
            deadline = time.monotonic() + server.grace + 2
            while server.connections > 1 and time.monotonic() < deadline:
                time.sleep(0.05)

        reconnect: list[float] = []
        first_after_drop: list[float] = []
        for _ in range(rounds):
            hellos = server.hellos
            start = time.monotonic()
            server.drop()
            ok = server.wait_for_hellos(hellos + 1, 30)
            reconnect.append((time.monotonic() - start) * 1000 if ok else float("inf"))
            first_after_drop.append(_ack_ms(_request(server)))
            if not ok:
                break  # it did not come back within 30 s; the next rounds would not either
            time.sleep(0.3)
    finally:
        close()
        bot.stop()
    return {
        "client": "slack_sdk built-in (Bolt SocketModeHandler)" if builtin else "bot.socketmode",
        "ack_ms_normal_p50": sorted(baseline)[len(baseline) // 2],
        "ack_ms_normal_max": max(baseline),
        "refresh_to_new_hello_ms_max": max(switch),
        "ack_ms_first_after_refresh_max": max(first_after_refresh),
        "ack_ms_worst_around_refresh": max(worst_refresh),
        "reconnect_after_drop_ms_max": max(reconnect),
        "reconnect_after_drop_ms_median": sorted(reconnect)[len(reconnect) // 2],
        "ack_ms_first_after_drop_max": max(first_after_drop),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(fake: FakeSlack, tmp: str) -> tuple[subprocess.Popen[str], Path, int]:
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **bot_env(f"sqlite:///{tmp}/run.sqlite3", fake.url),
        "SLACK_APP_TOKEN": APP_TOKEN,
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    log_path = Path(tmp) / f"run-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, log_path, port


def _wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the bot (see its log)")
        time.sleep(0.05)


def _stop_ms(proc: subprocess.Popen[str], signum: int) -> float:
    start = time.monotonic()
    proc.send_signal(signum)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return (time.monotonic() - start) * 1000


def measure_stop(fake: FakeSlack) -> dict[str, Any]:
    """`complaint-bot run` in Socket Mode: Ctrl-C and SIGTERM at rest, and Ctrl-C in the
    8-second pause before a crash-looping worker is restarted; the memory (PSS) of its
    three processes at rest (the last of the two starts)."""
    tmp = tempfile.mkdtemp(prefix="bench-socket-run-")
    out: dict[str, Any] = {}
    for name, signum in (
        ("sigint_at_rest_ms", signal.SIGINT),
        ("sigterm_at_rest_ms", signal.SIGTERM),
    ):
        hellos = fake.socket_mode.hellos
        proc, _, _ = _start(fake, tmp)
        _wait_for(lambda h=hellos: fake.socket_mode.hellos > h)
        time.sleep(1.0)
        out["pss_mb_at_rest"] = tree_status(proc.pid)["Pss"] / 1024
        out[name] = _stop_ms(proc, signum)

    proc, log_path, _ = _start(fake, tmp)

    def started() -> list[str]:
        return re.findall(r"worker process (\d+) started", log_path.read_text())

    for n in range(1, 5):
        _wait_for(lambda n=n: len(started()) == n)
        os.kill(int(started()[-1]), signal.SIGKILL)
    _wait_for(lambda: "restarting in 8s" in log_path.read_text())
    out["sigint_in_restart_pause_ms"] = _stop_ms(proc, signal.SIGINT)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.socket", description=__doc__)
    parser.add_argument("--rounds", type=int, default=10, help="refreshes and drops each")
    parser.add_argument(
        "--builtin", action="store_true", help="also measure slack_sdk's built-in client"
    )
    parser.add_argument("--no-run", action="store_true", help="skip the Ctrl-C timings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with FakeSlack(seed=7) as fake:
        setup_fake(fake)
        results = [measure_client(fake, args.rounds, builtin=False)]
        if args.builtin:
            results.append(measure_client(fake, args.rounds, builtin=True))
        for r in results:
            print(f"\n{r.pop('client')} ({args.rounds} refreshes, {args.rounds} drops)")
            for key, val in r.items():
                print(f"  {key:34} {val:9.1f}")
        if not args.no_run:
            print("\ncomplaint-bot run (Socket Mode, web + worker processes)")
            for key, val in measure_stop(fake).items():
                print(f"  {key:34} {val:9.1f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
