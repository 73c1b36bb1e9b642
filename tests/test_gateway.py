"""The gateway's transport: one kept-alive connection per thread, and a connection the
server closed while idle replaced without the call failing or being sent twice."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.slack.gateway import Gateway
from tests.fakeslack import FakeSlack


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
