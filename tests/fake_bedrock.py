"""A loopback HTTP server that answers in Amazon Bedrock Runtime's wire protocol, so tests drive botocore's own
`bedrock-runtime` client (its signer, serializer, REST JSON and event stream parsers) against it.

POST /model/{modelId}/converse is answered in REST JSON; POST /model/{modelId}/converse-stream as
`application/vnd.amazon.eventstream`: binary frames (prelude with total and headers length, prelude CRC32, headers,
payload, message CRC32), one HTTP chunk each, with `:event-type`, `:content-type` and `:message-type` headers. This
module only writes frames; botocore's EventStream parser reads them (it checks both CRCs), never one of ours.

Each request is recorded (the model id from the path, decoded; the signed headers; the JSON body). Replies are
scripted in a queue; with it empty a success with usage is sent. A reply can fail: an error status with the
exception's name in `x-amzn-errortype` (or `__type` in the body), a stream's exception event after some events, a
stream whose body ends cleanly before the `metadata` event, a connection dropped mid-frame, silence.
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
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote

DEFAULT_TEXT = "Hello from the fake Bedrock."
HOLD_SECONDS = 30.0  # the longest silence lasts: a test that forgets the client still ends

# Each exception Converse and ConverseStream declare, with the HTTP status botocore's service model gives it.
STATUS = {"AccessDeniedException": 403, "ThrottlingException": 429, "ResourceNotFoundException": 404,
          "ModelTimeoutException": 408, "InternalServerException": 500, "ServiceUnavailableException": 503,
          "ValidationException": 400, "ModelNotReadyException": 429, "ModelErrorException": 424,
          "UnrecognizedClientException": 403}
# A stream's own exception events (ConverseStreamOutput's error members).
StreamException = Literal["modelStreamErrorException", "internalServerException", "validationException",
                          "throttlingException", "serviceUnavailableException"]
# How a streamed reply ends early, where the metadata event would go (or after `fault_after` events): "end": the
# body ends cleanly (its last chunk) without metadata; "drop": half of the next frame, then the connection closes;
# "silence": nothing more until the client leaves.
Fault = Literal["end", "drop", "silence"]
FakeCall = tuple[str, str, dict[str, Any]]

DENIED_MESSAGE = ("User: arn:aws:sts::123456789012:assumed-role/ai-chat-ChatFunctionRole/ai-chat-ChatFunction is not "
                  "authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/"
                  "anthropic.claude-haiku-4-5-20251001-v1:0 because no identity-based policy allows the "
                  "bedrock:InvokeModel action")


@dataclass(frozen=True)
class Usage:
    """Token counts as Bedrock reports them: `input` excludes the cached tokens, counted apart."""

    input: int = 40
    output: int = 12
    cache_read: int = 0
    cache_write: int = 0

    def wire(self) -> dict[str, int]:
        return {"inputTokens": self.input, "outputTokens": self.output,
                "totalTokens": self.input + self.output + self.cache_read + self.cache_write,
                "cacheReadInputTokens": self.cache_read, "cacheWriteInputTokens": self.cache_write}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a success (text, tool calls, usage, stop reason) or `error`, an exception's name."""

    text: str | None = None  # None: DEFAULT_TEXT, or no text beside tool calls
    deltas: list[str] | None = None  # streamed: the text in these pieces (None: word by word)
    tool_calls: list[FakeCall] = field(default_factory=list)
    usage: Usage = Usage()
    stop_reason: str | None = None  # None: end_turn, or tool_use beside tool calls
    error: str | None = None  # an exception's name: answered with its status, x-amzn-errortype and a message
    message: str = "fake error"
    error_in_body: bool = False  # the name as `__type` in the body instead of the header
    raw: bytes | None = None  # the body as given (converse), or the whole stream's body (converse-stream)
    delay: float = 0.0
    pause: float = 0.0  # seconds between stream frames
    exception_event: StreamException | None = None  # streamed: this exception event instead of the finishing ones
    fault: Fault | None = None
    fault_after: int | None = None  # with `fault` or `exception_event`: after this many frames instead

    def __post_init__(self) -> None:
        if self.text is None:
            joined = "".join(self.deltas) if self.deltas is not None else None
            object.__setattr__(self, "text", joined if joined is not None else
                               "" if self.tool_calls else DEFAULT_TEXT)

    @property
    def stop(self) -> str:
        return self.stop_reason or ("tool_use" if self.tool_calls else "end_turn")

    def pieces(self) -> list[str]:
        return self.deltas if self.deltas is not None else re.findall(r"\s*\S+|\s+$", self.text or "")


@dataclass(frozen=True)
class Recorded:
    operation: Literal["converse", "converse-stream"]
    model: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StreamLog:
    frames: int = 0
    closed_early: bool = False
    done: threading.Event = field(default_factory=threading.Event)


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message: prelude (total length, headers length, their CRC32), headers (each a name, type 7
    (string), a 2-byte length and the value), payload, and the CRC32 of everything before it."""
    encoded = b"".join(struct.pack(">B", len(name)) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode()))
                       + value.encode() for name, value in headers.items())
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    # Bedrock pads each event's JSON with a "p" field (its length hides the text's); botocore ignores it.
    body = json.dumps({**payload, "p": "abcdefghij"}).encode()
    return frame({":event-type": kind, ":content-type": "application/json", ":message-type": "event"}, body)


def exception_event(kind: str, message: str = "The model failed while streaming.") -> bytes:
    return frame({":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"},
                 json.dumps({"message": message}).encode())


def split_input(text: str) -> list[str]:
    """Tool input in three pieces (two for a short one), as Bedrock streams it."""
    step = max(1, -(-len(text) // 3))
    return [text[i:i + step] for i in range(0, len(text), step)] or [""]


def stream_frames(reply: Reply) -> tuple[list[bytes], list[bytes]]:
    """A streamed success: messageStart, the content blocks (text, then each toolUse), then the finishing frames
    (messageStop, metadata with usage)."""
    head = [event("messageStart", {"role": "assistant"})]
    index = 0
    if reply.text or reply.deltas or not reply.tool_calls:
        head += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
                 for piece in reply.pieces()]
        head.append(event("contentBlockStop", {"contentBlockIndex": 0}))
        index = 1
    for offset, (call_id, name, arguments) in enumerate(reply.tool_calls):
        at = index + offset
        head.append(event("contentBlockStart", {"contentBlockIndex": at,
                                                "start": {"toolUse": {"toolUseId": call_id, "name": name}}}))
        head += [event("contentBlockDelta", {"contentBlockIndex": at, "delta": {"toolUse": {"input": piece}}})
                 for piece in split_input(json.dumps(arguments))]
        head.append(event("contentBlockStop", {"contentBlockIndex": at}))
    tail = [event("messageStop", {"stopReason": reply.stop}),
            event("metadata", {"usage": reply.usage.wire(), "metrics": {"latencyMs": 321}})]
    return head, tail


def success(reply: Reply) -> dict[str, Any]:
    """A Converse answer."""
    content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text or not reply.tool_calls else []
    content += [{"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}
                for call_id, name, arguments in reply.tool_calls]
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": reply.stop,
            "usage": reply.usage.wire(), "metrics": {"latencyMs": 321}}


def bedrock_refusal(body: dict[str, Any]) -> str | None:
    """Why Converse would refuse these messages (ValidationException), or None: a first message not the user's,
    roles that do not alternate, a message without content, a blank text block."""
    messages = body.get("messages") or []
    if messages and messages[0].get("role") != "user":
        return "A conversation must start with a user message. Try again with a conversation that starts with a " \
               "user message."
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            return "A conversation must alternate between user and assistant roles."
        blocks = message.get("content") or []
        if not blocks:
            return f"The content field in the Message object at messages.{i} is empty."
        if any("text" in b and not str(b["text"]).strip() for b in blocks):
            return f"The text field in the ContentBlock object at messages.{i} is blank."
    return None


class FakeBedrock:
    """The server, its scripted replies and the requests it received."""

    def __init__(self, *, validate: bool = True) -> None:
        self.validate = validate  # refuse what Converse refuses (bedrock_refusal), before any scripted reply
        self.requests: list[Recorded] = []
        self.streams: list[StreamLog] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("BoundHandler", (_Handler,), {"fake": self}))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies the client sent, oldest first."""
        return [r.body for r in self.requests]

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else Reply()


_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<operation>converse|converse-stream)$")


class _Gone(Exception):
    """The client closed the connection, or the server is stopping."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as a real endpoint answers: no 40 ms of Nagle plus delayed ACK per frame
    fake: FakeBedrock

    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError):
            super().handle()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        matched = _PATH.match(self.path.split("?")[0])
        if matched is None:
            self._error(404, "UnknownOperationException", "no such operation", False)
            return
        operation = matched["operation"]
        with self.fake._lock:
            self.fake.requests.append(Recorded(operation, unquote(matched["model"]),  # type: ignore[arg-type]
                                               {k.lower(): v for k, v in self.headers.items()}, body))
        refusal = bedrock_refusal(body) if self.fake.validate else None
        if refusal is not None:
            self._error(400, "ValidationException", refusal, False)
            return
        reply = self.fake._next()
        if reply.delay and self.fake._stopping.wait(reply.delay):
            return
        if reply.error is not None:
            self._error(STATUS.get(reply.error, 400), reply.error, reply.message, reply.error_in_body)
        elif operation == "converse":
            self._send(200, reply.raw if reply.raw is not None else json.dumps(success(reply)).encode())
        else:
            self._stream(reply)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    def _error(self, status: int, name: str, message: str, in_body: bool) -> None:
        if in_body:
            self._send(status, json.dumps({"__type": f"com.amazon.bedrock#{name}", "message": message}).encode())
            return
        self._send(status, json.dumps({"message": message}).encode(),
                   {"x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"})

    def _stream(self, reply: Reply) -> None:
        log = StreamLog()
        with self.fake._lock:
            self.fake.streams.append(log)
        head, tail = ([reply.raw], []) if reply.raw is not None else stream_frames(reply)
        if reply.fault_after is not None:
            head, tail = head[:reply.fault_after], head[reply.fault_after:] + tail
        try:
            self.send_response(200)
            self.send_header("content-type", "application/vnd.amazon.eventstream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
            self.end_headers()
            for message in head:
                self._chunk(log, message, reply.pause)
            if reply.exception_event is not None:
                self._chunk(log, exception_event(reply.exception_event), 0.0)
                self._end()
            elif reply.fault == "end":
                self._end()
            elif reply.fault == "drop":
                upcoming = tail[0] if tail else b""
                self.wfile.write(b"%x\r\n%s" % (len(upcoming), upcoming[:max(1, len(upcoming) // 2)]))
                self.wfile.flush()
                self.close_connection = True
            elif reply.fault == "silence":
                self._wait(HOLD_SECONDS)
            else:
                for message in tail:
                    self._chunk(log, message, reply.pause)
                self._end()
        except (BrokenPipeError, ConnectionResetError, _Gone):
            log.closed_early = True
            self.close_connection = True
        finally:
            log.done.set()

    def _chunk(self, log: StreamLog, message: bytes, pause: float) -> None:
        if log.frames and pause:
            self._wait(pause)
        self.wfile.write(b"%x\r\n%s\r\n" % (len(message), message))
        self.wfile.flush()
        log.frames += 1

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _wait(self, seconds: float) -> None:
        """Wait, noticing at once a client that closes its end (or the server stopping)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.fake._stopping.is_set():
                raise _Gone
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.01))
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":  # EOF: the client left
                        raise _Gone
                except OSError as e:
                    raise _Gone from e

    def log_message(self, format: str, *args: Any) -> None:
        pass
