"""A loopback HTTP server that answers in OpenAI's and Anthropic's wire formats, so tests drive the real SDKs.

OpenAI's SDK posts to {base}/chat/completions (base ends in /v1), Anthropic's to {base}/v1/messages. Each API has a
queue of scripted replies; with the queue empty it answers a success with usage. Every request is recorded.
A scripted reply may ask for tools: OpenAI's `message.tool_calls` (finish_reason "tool_calls") or Anthropic's
`tool_use` blocks (stop_reason "tool_use").
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Api = Literal["openai", "anthropic"]
PATHS: dict[str, Api] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


@dataclass(frozen=True)
class Usage:
    """Token counts the fake reports; `input` excludes the cached tokens, as Anthropic counts them."""

    input: int = 40
    output: int = 12
    cache_read: int = 0
    cache_write: int = 0


DEFAULT_TEXT = "Hello from the fake model."
# A tool call the fake answers with: (id, name, arguments), the arguments an object (or, for OpenAI, any JSON text).
FakeCall = tuple[str, str, "dict[str, Any] | str"]


@dataclass(frozen=True)
class Scripted:
    """One reply: a success with these usage counts, or an error status, a raw body, a delay before answering.

    With `tool_calls` the success asks for those tools, with `text` beside them only when one is given."""

    status: int = 200
    usage: Usage = Usage()
    text: str | None = None  # None: DEFAULT_TEXT, or no text beside tool calls
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0  # seconds between bytes of the body: a provider that never stops sending, slowly
    tool_calls: list[FakeCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.text is None:
            object.__setattr__(self, "text", "" if self.tool_calls else DEFAULT_TEXT)


@dataclass(frozen=True)
class Recorded:
    api: Api
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def success(api: Api, request: dict[str, Any], reply: Scripted) -> dict[str, Any]:
    """A success body in the API's own format, naming a dated snapshot of the model asked for."""
    u = reply.usage
    model = f"{request.get('model')}-2026-01-01"
    if api == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["content"] = reply.text or None  # null beside tool calls, as OpenAI sends it
            message["tool_calls"] = [
                {"id": call_id, "type": "function",
                 "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                for call_id, name, args in reply.tool_calls]
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_764_000_000, "model": model,
            "choices": [{"index": 0, "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                         "message": message}],
            # OpenAI's prompt_tokens includes the cached ones.
            "usage": {"prompt_tokens": u.input + u.cache_read, "completion_tokens": u.output,
                      "total_tokens": u.input + u.cache_read + u.output,
                      "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0}},
        }
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text or not reply.tool_calls else []
    content += [{"type": "tool_use", "id": call_id, "name": name, "input": args}
                for call_id, name, args in reply.tool_calls]
    return {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": u.input, "output_tokens": u.output, "cache_read_input_tokens": u.cache_read,
                  "cache_creation_input_tokens": u.cache_write},
    }


def error(api: Api, status: int) -> dict[str, Any]:
    """An error body in the API's own format."""
    if api == "openai":
        return {"error": {"message": f"fake error {status}", "type": "server_error", "param": None, "code": None}}
    kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": f"fake error {status}"}}


def write(out: Any, payload: bytes, trickle: float, stopping: threading.Event) -> None:
    """Send the payload at once, or a byte every `trickle` seconds until it is sent or the server stops."""
    if not trickle:
        out.write(payload)
        return
    for i in range(len(payload)):
        if stopping.wait(trickle):
            return
        out.write(payload[i:i + 1])
        out.flush()


class FakeProviders:
    """The server, its scripted replies and the requests it received."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queues: dict[Api, deque[Scripted]] = {"openai": deque(), "anthropic": deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def enqueue(self, api: Api, *replies: Scripted) -> None:
        with self._lock:
            self._queues[api].extend(replies)

    def sent(self, api: Api) -> list[dict[str, Any]]:
        """The JSON bodies the SDK sent to one API, oldest first."""
        return [r.body for r in self.requests if r.api == api]

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, api: Api) -> Scripted:
        with self._lock:
            return self._queues[api].popleft() if self._queues[api] else Scripted()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                api = PATHS.get(self.path.split("?")[0])
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if api is None:
                    self._send(404, b'{"error": "no such path"}', {})
                    return
                with fake._lock:
                    fake.requests.append(Recorded(api, self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body))
                reply = fake._next(api)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status == 200:
                    payload = json.dumps(success(api, body, reply)).encode()
                else:
                    payload = json.dumps(error(api, reply.status)).encode()
                self._send(reply.status, payload, reply.headers, reply.trickle)

            def _send(self, status: int, payload: bytes, headers: dict[str, str], trickle: float = 0.0) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    write(self.wfile, payload, trickle, fake._stopping)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
