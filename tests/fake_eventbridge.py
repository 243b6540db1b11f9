"""A loopback EventBridge speaking PutEvents' JSON protocol, for tests that read what was sent (in-process, or from
the local server with EVENTS_ENDPOINT_URL pointing here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeEventBridge:
    """A loopback EventBridge speaking PutEvents' JSON protocol: each request's entries are kept, and each is answered
    by the next scripted answer (status, body), else every entry accepted."""

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.answers: list[Callable[[list[dict[str, Any]]], tuple[int, dict[str, Any]]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                assert self.headers["X-Amz-Target"] == "AWSEvents.PutEvents"
                entries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["Entries"]
                fake.requests.append(entries)
                status, body = fake.answers.pop(0)(entries) if fake.answers else accept(entries)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def accept(entries: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return 200, {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i, _ in enumerate(entries)]}
