"""The gateway's transport: one kept-alive connection per thread, and a connection the
server closed while idle replaced without the call failing or being sent twice."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sandbox.fakeslack import FakeSlack
from bot.slack.gateway import Gateway
from bot.workflow import Role


def test_calls_from_one_thread_share_one_connection(slack: FakeSlack) -> None:
    gateway = Gateway("xoxb-test-token", slack.url)
    before = slack.connections
    for i in range(5):
        gateway.call("chat.postMessage", channel="C0COMPLAIN", text=f"hello {i}")
    assert slack.connections - before == 1
    assert len(slack.calls_to("chat.postMessage")) == 5

    # another thread has its own connection
    t = threading.Thread(target=lambda: gateway.call("auth.test"))
    t.start()
    t.join()
    assert slack.connections - before == 2


class _ClosesAfterEachAnswer(BaseHTTPRequestHandler):
    """An HTTP/1.1 server that answers, then closes the connection without saying so: what
    a client sees when Slack drops a connection that sat idle."""

    protocol_version = "HTTP/1.1"
    served: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.served.append(self.path)
        body = b'{"ok": true, "url": "https://example.slack.com/", "team": "T", "user": "U"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def test_a_connection_closed_while_idle_is_replaced_and_the_call_sent_once(caplog) -> None:
    _ClosesAfterEachAnswer.served.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesAfterEachAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gateway = Gateway("xoxb-test-token", f"http://127.0.0.1:{server.server_port}/api/")
        for _ in range(3):
            assert gateway.call("auth.test")["ok"] is True
        assert _ClosesAfterEachAnswer.served == ["/api/auth.test"] * 3
        # replaced inside the transport: slack_sdk never saw a failure to retry
        assert not [r for r in caplog.records if "Failed to send" in r.getMessage()]
    finally:
        server.shutdown()
        server.server_close()


def test_https_calls_share_one_tls_connection(tmp_path) -> None:
    """The same over TLS, as to slack.com: one handshake for several calls."""
    import shutil
    import ssl
    import subprocess

    import pytest

    from bot.slack.gateway import KeepAliveWebClient

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throw-away certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    connections: list[int] = []

    class Handler(_ClosesAfterEachAnswer):
        served: list[str] = []

        def setup(self) -> None:
            super().setup()
            connections.append(1)

        def do_POST(self) -> None:
            super().do_POST()
            self.close_connection = False  # this server keeps connections alive

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        client = KeepAliveWebClient(
            token="xoxb-test-token",
            base_url=f"https://127.0.0.1:{server.server_port}/api/",
            ssl=client_ctx,
        )
        for _ in range(3):
            assert client.auth_test()["ok"] is True
        assert len(connections) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_cold_start_asks_slack_for_a_user_group_once(slack: FakeSlack) -> None:
    """Every request at a cold start needs the role's user group at once; Slack rate-limits
    usergroups.users.list (Tier 2), so one call is made and the others wait for it."""
    from bot.slack.directory import Directory
    from tests.conftest import TQ2, make_settings

    settings = make_settings("sqlite://", slack.url)
    directory = Directory(settings, Gateway("xoxb-test-token", slack.url))
    barrier = threading.Barrier(8)
    answers: list[bool] = []

    def ask() -> None:
        barrier.wait()
        answers.append(directory.actor(TQ2).has(Role.QUALITY))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [True] * 8
    assert len(slack.calls_to("usergroups.users.list")) == 1
