"""A loopback stand-in for Lambda's Invoke API, reached through LAMBDA_ENDPOINT_URL (moto's Lambda needs Docker).

botocore posts an invocation to {endpoint}/2015-03-31/functions/{FunctionName}/invocations with the payload as the
body; the answer is the function's payload, with X-Amz-Function-Error when the function failed. Replies are queued;
with none queued the fake answers {"echo": <payload>}. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"


@dataclass(frozen=True)
class Reply:
    """One answer: the payload bytes, Lambda's function-error header, an HTTP status, a delay before answering."""

    body: bytes = b"{}"
    function_error: str | None = None
    status: int = 200
    error_type: str | None = None  # x-amzn-ErrorType, for Lambda's own refusals (404 ResourceNotFoundException)
    delay: float = 0.0


@dataclass(frozen=True)
class Invocation:
    function: str  # the FunctionName as sent: the ARN, unquoted
    invocation_type: str | None
    payload: dict[str, Any]


class FakeLambda:
    """The server, its queued replies and the invocations it received."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.invocations: list[Invocation] = []
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
                    self.send_error(404)
                    return
                fake.invocations.append(Invocation(unquote(path[len(PREFIX):-len(SUFFIX)]),
                                                   self.headers.get("X-Amz-Invocation-Type"), json.loads(body)))
                reply = fake.replies.popleft() if fake.replies else Reply(json.dumps({"echo": json.loads(body)})
                                                                          .encode())
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                if reply.function_error:
                    self.send_header("X-Amz-Function-Error", reply.function_error)
                if reply.error_type:
                    self.send_header("x-amzn-ErrorType", reply.error_type)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer_next(self, reply: Reply) -> None:
        self.replies.append(reply)

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
