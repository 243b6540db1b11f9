"""What the AI SDK itself makes of a UI message stream: a body captured from the server, read by the SDK's own code.

`capture` posts to the stream route over a plain connection and keeps the body byte for byte (optionally acting
mid-stream, as a test that asks for a stop must); `read_with_sdk` feeds a body to `widget/scripts/read-ui-stream.mjs`,
which reads it with the `ai` package the widget pins (parseJsonEventStream + uiMessageChunkSchema, AbstractChat +
DefaultChatTransport as `useChat` runs them, readUIMessageStream), and returns what the SDK saw as an `SdkView`.
Both fail loudly, never skip: a missing `node` or `widget/node_modules` is an error naming the fix.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WIDGET = Path(__file__).resolve().parents[1] / "widget"
SCRIPT = WIDGET / "scripts" / "read-ui-stream.mjs"
READ_SECONDS = 60.0  # the longest one read of the SDK may take: Node starts and loads the SDK in well under that


@dataclass(frozen=True)
class Captured:
    """A response to the stream route as it arrived: status, content type and the body's bytes."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class SdkView:
    """What the SDK saw in one body; `chat_*` is AbstractChat's view (it stops at the first `error` chunk)."""

    chunks: list[dict[str, Any]]  # every event uiMessageChunkSchema accepted, in order
    invalid: list[dict[str, Any]]  # every event it refused: {error, text}
    chat_status: str  # "ready", or "error" when the chat surfaced an error
    chat_error: str | None  # the error's message: an `error` chunk's errorText, or what the transport threw
    chat_message: dict[str, Any] | None  # the chat's assistant UIMessage: id, role, parts, metadata
    chat_events: list[dict[str, Any]]  # what the chat's callbacks heard, in order: data, error, finish
    reader_message: dict[str, Any] | None  # readUIMessageStream's last message: it reads past an `error` chunk
    reader_errors: list[str]
    ai_version: str  # the `ai` package that read it
    widget_parts: list[dict[str, Any]]  # what the widget's own parser (src/ui-message-stream.ts) read, in order

    @property
    def chunk_types(self) -> list[str]:
        return [chunk["type"] for chunk in self.chunks]

    @property
    def chat_metadata(self) -> dict[str, Any]:
        """The metadata the chat's message ended with ({} without a message)."""
        metadata = (self.chat_message or {}).get("metadata") or {}
        return dict(metadata)

    @property
    def chat_data(self) -> list[dict[str, Any]]:
        """The transient data parts (`data-error`, …) the chat handed to onData before it stopped."""
        return [event["part"] for event in self.chat_events if event["on"] == "data"]

    @property
    def chat_text(self) -> str:
        """The text parts of the chat's message, joined."""
        parts = (self.chat_message or {}).get("parts") or []
        return "".join(part["text"] for part in parts if part["type"] == "text")


def read_with_sdk(body: bytes, status: int = 200, content_type: str = "text/event-stream; charset=utf-8",
                  script: Path = SCRIPT) -> SdkView:
    """The SDK's reading of `body` (a response with `status` and `content_type`); RuntimeError if it cannot run."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("`node` is not on PATH: the SDK reader needs Node 20 (see README's requirements)")
    with tempfile.NamedTemporaryFile(suffix=".sse") as file:
        file.write(body)
        file.flush()
        done = subprocess.run([node, str(script), "--status", str(status), "--content-type", content_type, file.name],
                              capture_output=True, text=True, timeout=READ_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed (exit {done.returncode}): {done.stderr.strip()}")
    seen = json.loads(done.stdout)
    chat, reader = seen["chat"], seen["reader"]
    return SdkView(chunks=seen["chunks"], invalid=seen["invalid"], chat_status=chat["status"],
                   chat_error=chat["error"], chat_message=chat["message"], chat_events=chat["events"],
                   reader_message=reader["message"], reader_errors=reader["errors"], ai_version=seen["sdk"]["ai"],
                   widget_parts=seen["widget"]["parts"])


# Parts the widget's parser does not read, as it does not use them: a newer server may send more, and it skips them.
WIDGET_SKIPS = frozenset({"data-ending"})


def read_captured(captured: Captured) -> SdkView:
    """The SDK's reading of a captured response, which the widget's own parser must read the same (below)."""
    view = read_with_sdk(captured.body, captured.status, captured.content_type)
    assert_widget_reads_as_the_sdk(view)
    return view


def assert_widget_reads_as_the_sdk(view: SdkView) -> None:
    """The widget's parser read exactly the chunks the SDK accepted, in order, less those it does not use."""
    skipped = {chunk["type"] for chunk in view.chunks} - {part["type"] for part in view.widget_parts}
    assert skipped <= WIDGET_SKIPS, f"the widget's parser dropped parts it should read: {sorted(skipped)}"
    assert view.widget_parts == [c for c in view.chunks if c["type"] not in WIDGET_SKIPS], (
        "the widget's parser and the SDK read this body differently")


def capture(base_url: str, path: str, body: Any, token: str, headers: Mapping[str, str] | None = None, *,
            until: Callable[[bytes], bool] | None = None, then: Callable[[bytes], None] | None = None,
            timeout: float = 20.0) -> Captured:
    """POST `body` and keep the whole response; once `until(bytes so far)` holds, `then(bytes so far)` runs once
    while the stream goes on. Each read waits at most `timeout` seconds, the whole body at most 3 times `timeout`."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        sent = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", **(headers or {})}
        conn.request("POST", path, body=json.dumps(body).encode(), headers=sent)
        response = conn.getresponse()
        raw = bytearray()
        pending = then is not None and until is not None
        deadline = time.monotonic() + 3 * timeout
        # Line by line, so `then` can act between two events (a read of the rest would wait for the end).
        while line := response.readline():
            raw += line
            if pending and until is not None and then is not None and until(bytes(raw)):
                pending = False
                then(bytes(raw))
            if time.monotonic() > deadline:
                raise TimeoutError(f"still streaming after {3 * timeout}s: {bytes(raw[-300:])!r}")
        if pending:
            raise AssertionError(f"the stream ended before the condition to act on held: {bytes(raw[-300:])!r}")
        return Captured(response.status, response.getheader("content-type") or "", bytes(raw))
    finally:
        conn.close()
