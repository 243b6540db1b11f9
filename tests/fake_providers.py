"""A loopback HTTP server that answers in OpenAI's and Anthropic's wire formats, so tests drive the real SDKs.

OpenAI's SDK posts to {base}/chat/completions (base ends in /v1), Anthropic's to {base}/v1/messages. Each API has a
queue of scripted replies; with the queue empty it answers a success with usage. Every request is recorded.
A scripted reply may ask for tools: OpenAI's `message.tool_calls` (finish_reason "tool_calls") or Anthropic's
`tool_use` blocks (stop_reason "tool_use").

A request with `"stream": true` is answered as each API streams (server-sent events, chunked, one write per event),
and each such stream is recorded in `streams` (a StreamLog: when events went out, whether the client left early).
A streamed reply can fail on the wire (`fault`): closed, reset, cut mid-event, silent, or with the API's error event.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import struct
import threading
import time
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
# How a streamed reply fails, where its finishing events (or, with `fault_after`, its next event) would go:
# "close": the connection is closed (FIN) before the body's end; "reset": it is reset (RST, SO_LINGER 0);
# "truncate": half of the next event is sent, its chunk and its SSE line cut, then closed; "silence": nothing more
# is sent and the connection is held until the client leaves (HOLD_SECONDS at most); "error": the API's own error
# event (an overloaded model), then the body's end.
Fault = Literal["close", "reset", "truncate", "silence", "error"]
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
    # Streamed replies only. The text in pieces, one event each (None: `text` split into words, spaces kept); given
    # without `text`, they are the text.
    deltas: list[str] | None = None
    pause: float = 0.0  # seconds between events
    cut_before_usage: bool = False  # stop after the text and tool events: no finish, no usage, no end of body
    fault: Fault | None = None  # fail this way after the text and tool events (and after `hold_last`, if given)
    fault_after: int | None = None  # with `fault`: fail after this many events instead (1: after the preamble)
    # Wait for it (at most HOLD_SECONDS) before the finish and usage; a reply not streamed waits before any byte.
    hold_last: threading.Event | None = None
    message_deltas: int = 1  # Anthropic: message_delta events, each with the cumulative output so far

    def __post_init__(self) -> None:
        if self.text is None:
            joined = "".join(self.deltas) if self.deltas is not None else None
            object.__setattr__(self, "text", joined if joined is not None else
                               "" if self.tool_calls else DEFAULT_TEXT)

    def pieces(self) -> list[str]:
        """The text as it is streamed."""
        return self.deltas if self.deltas is not None else re.findall(r"\s*\S+|\s+$", self.text or "")


HOLD_SECONDS = 30.0  # the longest a stream waits for `hold_last`: a test that forgets to set it still ends


@dataclass
class StreamLog:
    """What the fake did for one streamed request; times are time.monotonic()."""

    api: Api
    received_at: float = 0.0  # when the request's head had arrived (its body may follow in a later segment)
    first_event_at: float | None = None
    last_event_at: float | None = None
    events: int = 0  # SSE events written ([DONE] included)
    final_sent: bool = False  # the last event ([DONE] / message_stop) went out
    closed_early: bool = False  # the client closed the connection before the fake was done
    closed_while_waiting: bool = False  # … noticed while the fake waited between events, not at its next write
    done: threading.Event = field(default_factory=threading.Event)  # the fake stopped writing this stream


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


def texts_received(api: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every text a provider received in `body`, the system prompt as role `system`, block by
    block (Anthropic's system prompt is a field of its own; OpenAI's is a message)."""
    if api == "openai":
        return [(m["role"], m["content"]) for m in body["messages"] if isinstance(m.get("content"), str)]
    found = [("system", body["system"])]
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        found += [(message["role"], b["text"]) for b in blocks if b["type"] == "text"]
    return found


def anthropic_refusal(body: dict[str, Any]) -> str | None:
    """Why Anthropic would answer these messages with 400, or None: a message with no content (but a last assistant
    one), or a text block that is empty or whitespace only."""
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        content = message.get("content")
        if not content and not (i == len(messages) - 1 and message.get("role") == "assistant"):
            return (f"messages.{i}: all messages must have non-empty content except for the optional final "
                    "assistant message")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}] if content else []
        if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
            return f"messages.{i}: text content blocks must contain non-whitespace text"
    return None


def split_arguments(text: str) -> list[str]:
    """Tool arguments in three pieces (two for a short text), as providers stream them."""
    step = max(1, -(-len(text) // 3))
    return [text[i:i + step] for i in range(0, len(text), step)] or [""]


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event: `event:` (Anthropic names each) and its JSON `data:`."""
    line = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {line}\n\n".encode()


def stream_events(api: Api, request: dict[str, Any], reply: Scripted) -> tuple[list[bytes], list[bytes]]:
    """A streamed success in the API's own format: the text and tool events, then the finishing ones (finish
    reason, usage, end)."""
    model = f"{request.get('model')}-2026-01-01"
    return (openai_stream if api == "openai" else anthropic_stream)(model, request, reply)


def openai_stream(model: str, request: dict[str, Any], reply: Scripted) -> tuple[list[bytes], list[bytes]]:
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body: dict[str, Any] = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_764_000_000,
                                "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None  # every chunk but the last, as OpenAI sends them
        return sse(body)

    head = [chunk({"role": "assistant", "content": "", "refusal": None})]
    head += [chunk({"content": piece}) for piece in reply.pieces()]
    for index, (call_id, name, args) in enumerate(reply.tool_calls):
        head.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                           "function": {"name": name, "arguments": ""}}]}))
        text = args if isinstance(args, str) else json.dumps(args)
        head += [chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                 for piece in split_arguments(text)]
    tail = [chunk({}, "tool_calls" if reply.tool_calls else "stop")]
    if include_usage:
        tail.append(sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_764_000_000,
                         "model": model, "choices": [], "usage": success("openai", request, reply)["usage"]}))
    return head, [*tail, sse("[DONE]")]


def anthropic_stream(model: str, request: dict[str, Any], reply: Scripted) -> tuple[list[bytes], list[bytes]]:
    u = reply.usage
    start = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
             "stop_reason": None, "stop_sequence": None,
             # Anthropic counts the output so far at the start (a token or so), then cumulatively in message_delta.
             "usage": {"input_tokens": u.input, "output_tokens": min(1, u.output),
                       "cache_read_input_tokens": u.cache_read, "cache_creation_input_tokens": u.cache_write}}
    head = [sse({"type": "message_start", "message": start}, "message_start"), sse({"type": "ping"}, "ping")]

    def block(index: int, content: dict[str, Any], deltas: list[dict[str, Any]]) -> list[bytes]:
        return [sse({"type": "content_block_start", "index": index, "content_block": content}, "content_block_start"),
                *(sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")
                  for d in deltas),
                sse({"type": "content_block_stop", "index": index}, "content_block_stop")]

    index = 0
    if reply.text or reply.deltas or not reply.tool_calls:
        head += block(0, {"type": "text", "text": ""},
                      [{"type": "text_delta", "text": piece} for piece in reply.pieces()])
        index = 1
    for offset, (call_id, name, args) in enumerate(reply.tool_calls):
        text = args if isinstance(args, str) else json.dumps(args)
        head += block(index + offset, {"type": "tool_use", "id": call_id, "name": name, "input": {}},
                      [{"type": "input_json_delta", "partial_json": piece} for piece in ["", *split_arguments(text)]])
    stop = "tool_use" if reply.tool_calls else "end_turn"
    tail = []
    for n in range(1, reply.message_deltas + 1):
        usage: dict[str, int] = {"output_tokens": -(-u.output * n // reply.message_deltas)}
        if n == reply.message_deltas:  # newer API versions repeat the input counts, cumulative too
            usage |= {"input_tokens": u.input, "cache_read_input_tokens": u.cache_read,
                      "cache_creation_input_tokens": u.cache_write}
        tail.append(sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": usage}, "message_delta"))
    return head, [*tail, sse({"type": "message_stop"}, "message_stop")]


def error_event(api: Api) -> bytes:
    """The event each API sends when it fails inside a stream it had begun: an overloaded model."""
    if api == "openai":
        return sse({"error": {"message": "The server had an error while processing your request.",
                              "type": "server_error", "param": None, "code": None}})
    return sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")


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

    def __init__(self, *, anthropic_rules: bool = False) -> None:
        # anthropic_rules: refuse messages as Anthropic does (anthropic_refusal), before any scripted reply is used.
        self.anthropic_rules = anthropic_rules
        self.requests: list[Recorded] = []
        self.streams: list[StreamLog] = []
        self._queues: dict[Api, deque[Scripted]] = {"openai": deque(), "anthropic": deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
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

    def discard_queued(self, api: Api) -> int:
        """Drop the replies no request took (a test whose turns may end before the model, so the next test in the
        module meets none of them); returns how many there were."""
        with self._lock:
            left = len(self._queues[api])
            self._queues[api].clear()
        return left

    def sent(self, api: Api) -> list[dict[str, Any]]:
        """The JSON bodies the SDK sent to one API, oldest first."""
        return [r.body for r in self.requests if r.api == api]

    def wait_stream_done(self, index: int = 0, timeout: float = 10.0) -> StreamLog:
        """The log of the `index`th stream once the fake stopped writing it; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.streams) <= index:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {index} never started ({len(self.streams)} so far)")
            time.sleep(0.005)
        log = self.streams[index]
        if not log.done.wait(max(0.0, deadline - time.monotonic())):
            raise AssertionError(f"stream {index} still running after {timeout}s: {log}")
        return log

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, api: Api) -> Scripted:
        with self._lock:
            return self._queues[api].popleft() if self._queues[api] else Scripted()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("BoundHandler", (Handler,), {"fake": self})


class _ClientGone(Exception):
    """The client closed the connection; `waiting`: noticed while the fake waited, before its next write."""

    def __init__(self, waiting: bool = False) -> None:
        super().__init__()
        self.waiting = waiting


class _Stopping(Exception):
    """The server is shutting down: a stream in progress stops."""


class Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests for `fake` (set on a subclass per server)."""

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as a provider's servers answer: with Nagle's algorithm on, each small SSE write after the first
    # waits for the client's delayed ACK (~40 ms on Linux loopback), which benchmarks would count as ours.
    disable_nagle_algorithm = True
    fake: FakeProviders

    def handle(self) -> None:
        # A client that resets a kept-alive connection it is done with is not worth a traceback on stderr.
        with contextlib.suppress(ConnectionResetError):
            super().handle()

    def do_POST(self) -> None:
        self._received_at = time.monotonic()
        api = PATHS.get(self.path.split("?")[0])
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if api is None:
            self._send(404, b'{"error": "no such path"}', {})
            return
        with self.fake._lock:
            self.fake.requests.append(Recorded(api, self.path, {k.lower(): v for k, v in self.headers.items()},
                                               body))
        refusal = anthropic_refusal(body) if api == "anthropic" and self.fake.anthropic_rules else None
        if refusal is not None:
            refused = {"type": "error", "error": {"type": "invalid_request_error", "message": refusal}}
            self._send(400, json.dumps(refused).encode(), {})
            return
        reply = self.fake._next(api)
        if reply.delay and self.fake._stopping.wait(reply.delay):
            return
        if reply.hold_last is not None and body.get("stream") is not True:
            try:
                self._wait(HOLD_SECONDS, reply.hold_last)
            except (_ClientGone, _Stopping):
                self.close_connection = True
                return
        if body.get("stream") is True and reply.status == 200:
            self._stream(api, body, reply)
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
            write(self.wfile, payload, trickle, self.fake._stopping)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test): nothing to answer

    def _stream(self, api: Api, body: dict[str, Any], reply: Scripted) -> None:
        """Answer as the API streams: chunked, one write per event; `raw`, if given, is the whole body."""
        log = StreamLog(api, received_at=self._received_at)
        with self.fake._lock:
            self.fake.streams.append(log)
        head, tail = ([reply.raw], []) if reply.raw is not None else stream_events(api, body, reply)
        if reply.fault_after is not None:
            head, tail = head[:reply.fault_after], head[reply.fault_after:] + tail
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for event in head:
                self._event(log, event, reply.pause)
            if reply.cut_before_usage:
                self.close_connection = True  # no terminating chunk: the body ends mid-way
                return
            if reply.hold_last is not None:
                self._wait(HOLD_SECONDS, reply.hold_last)
            if reply.fault is not None:
                self._fail(log, api, reply.fault, tail[0] if tail else b"")
                return
            for i, event in enumerate(tail):
                self._event(log, event, reply.pause, last=i == len(tail) - 1)
            if not tail:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, _ClientGone) as gone:
            log.closed_early = True
            log.closed_while_waiting = isinstance(gone, _ClientGone) and gone.waiting
            self.close_connection = True
        except _Stopping:
            self.close_connection = True
        finally:
            log.done.set()

    def _fail(self, log: StreamLog, api: Api, fault: Fault, upcoming: bytes) -> None:
        """Fail the stream on the wire as `fault` says (Fault); `upcoming` is the event that was due next."""
        self.close_connection = True
        if fault == "error":
            self._event(log, error_event(api), 0.0, last=True)
        elif fault == "truncate":
            half = upcoming[:max(1, len(upcoming) // 2)]
            self.wfile.write(b"%x\r\n%s" % (len(upcoming), half))  # the chunk says more than is sent
            self.wfile.flush()
        elif fault == "silence":
            self._wait(HOLD_SECONDS)
        elif fault == "reset":
            # Linger 0: close() sends RST instead of FIN, as a dropped connection or a crashed proxy does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _event(self, log: StreamLog, event: bytes, pause: float, last: bool = False) -> None:
        """One event, as one chunk; the last one with the chunk that ends the body, in the same write, so
        a client that closes once it has the last event cannot make it look unsent."""
        if log.events and pause:
            self._wait(pause)
        # A write to a closed connection can still succeed (the reset comes later): look before writing.
        if self._client_gone():
            raise _ClientGone
        self.wfile.write(b"%x\r\n%s\r\n%s" % (len(event), event, b"0\r\n\r\n" if last else b""))
        self.wfile.flush()
        log.last_event_at = time.monotonic()
        log.first_event_at = log.first_event_at or log.last_event_at
        log.events += 1
        log.final_sent = last

    def _wait(self, seconds: float, until: threading.Event | None = None) -> None:
        """Wait `seconds`, or until `until` is set; a client that closes meanwhile is noticed at once
        (without sending it anything), and so is the server stopping."""
        deadline = time.monotonic() + seconds
        while not (until is not None and until.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.fake._stopping.is_set():
                raise _Stopping
            # Readable means closed: the client sends nothing more on this connection while it reads.
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.01))
            if readable and self._client_gone():
                raise _ClientGone(waiting=True)

    def _client_gone(self) -> bool:
        """Whether the client closed its end of the connection (EOF or reset waiting to be read)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean
