"""Reading a UI message stream (Server-Sent Events, `data: {json}` parts, then `data: [DONE]`) as it arrives.

`SseCall` posts over a plain `http.client` connection and reads the answer part by part, so a test can act between
two parts (ask for a stop, check what the model has sent) or close the connection mid-stream; urllib would buffer.
`parse` reads a whole stream from bytes (a stream drained in-process).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

DONE = "[DONE]"
Part = dict[str, Any] | str  # a JSON part, or DONE


def part_of(event: bytes) -> Part:
    """One event's data: its JSON part, or DONE."""
    lines = [line for line in event.decode().split("\n") if line]
    assert lines and all(line.startswith("data: ") for line in lines), f"not a data event: {event!r}"
    data = "\n".join(line.removeprefix("data: ") for line in lines)
    if data == DONE:
        return DONE
    part = json.loads(data)
    assert isinstance(part, dict) and isinstance(part.get("type"), str), f"a part without a type: {data}"
    return part


def parse(body: bytes) -> list[Part]:
    """Every part of a whole stream, in order; each event ends with a blank line."""
    assert body.endswith(b"\n\n"), f"the stream does not end with a whole event: {body[-80:]!r}"
    return [part_of(event) for event in body[:-2].split(b"\n\n")]


def types(parts: list[Part]) -> list[str]:
    """The parts' types, DONE as itself."""
    return [p if isinstance(p, str) else p["type"] for p in parts]


def deltas(parts: list[Part]) -> str:
    """The text the stream wrote: its text deltas, joined."""
    return "".join(p["delta"] for p in parts if isinstance(p, dict) and p["type"] == "text-delta")


def of_type(parts: list[Part], kind: str) -> list[dict[str, Any]]:
    return [p for p in parts if isinstance(p, dict) and p["type"] == kind]


def start_of(parts: list[Part]) -> dict[str, Any]:
    """The `start` part, which opens every stream: its messageMetadata names the session and the user message."""
    assert parts and isinstance(parts[0], dict) and parts[0]["type"] == "start", parts[:1]
    return parts[0]


def metadata_of(parts: list[Part]) -> dict[str, Any]:
    """The messageMetadata of the one `message-metadata` part."""
    (part,) = of_type(parts, "message-metadata")
    meta: dict[str, Any] = part["messageMetadata"]
    return meta


class SseCall:
    """A POST whose answer is read incrementally: a JSON error (`json()`), or a stream read part by part.

    Every read waits at most `timeout` seconds for bytes, and `read_until` at most `timeout` in all."""

    def __init__(self, base_url: str, path: str, body: Any, token: str | None = None, timeout: float = 20.0,
                 extra_headers: dict[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        self.timeout = timeout
        self._conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self._conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        self._response = self._conn.getresponse()
        self.status = self._response.status
        self.headers = {k.lower(): v for k, v in self._response.getheaders()}
        self.parts: list[Part] = []  # every part read so far
        self.ended = False  # the server ended the body

    def __enter__(self) -> SseCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def json(self) -> Any:
        """The whole body as JSON (an answer that is not a stream)."""
        return json.loads(self._response.read())

    def next_part(self) -> Part | None:
        """The next part, once the whole event has arrived; None when the body ended."""
        lines: list[bytes] = []
        while True:
            line = self._response.readline()
            if not line:
                self.ended = True
                assert not lines, f"the body ended inside an event: {b''.join(lines)!r}"
                return None
            if line == b"\n":
                if lines:
                    part = part_of(b"".join(lines))
                    self.parts.append(part)
                    return part
                continue
            lines.append(line)

    def read_until(self, done: Callable[[list[Part]], bool]) -> list[Part]:
        """Read parts until `done(parts so far)`; AssertionError if the body ends first or `timeout` passes."""
        deadline = time.monotonic() + self.timeout
        while not done(self.parts):
            assert time.monotonic() < deadline, f"gave up after {self.timeout}s; parts so far: {self.parts}"
            assert self.next_part() is not None, f"the stream ended first; parts: {self.parts}"
        return self.parts

    def read_to_end(self) -> list[Part]:
        """Every part to the end of the body."""
        deadline = time.monotonic() + self.timeout
        while self.next_part() is not None:
            assert time.monotonic() < deadline, f"still streaming after {self.timeout}s; parts: {self.parts}"
        return self.parts

    def close(self) -> None:
        """Close the connection now, as a browser tab that goes away does (whatever is left unread)."""
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # the server closed it already
                sock.shutdown(socket.SHUT_RDWR)
        self._response.close()
        self._conn.close()
