"""A stream that ends early hangs up the provider's connection at once, even while the provider sends nothing.

Failover.stream reads a provider's stream in a thread of its own, which may be blocked in recv() on a provider gone
silent. Closing the SDK's response from another thread does not wake that read and sends no FIN (the kernel keeps
the socket open for it), so the provider would go on writing, and billing, until its next event or the read timeout.
The feed hangs the connection up instead (shutdown), from the thread that stops. The fake (tests/fake_providers.py,
127.0.0.1 only) holds its last events for far longer than any wait here and records when the client closed; every
wait is a condition with a generous limit, never an elapsed-time assert.
"""

from __future__ import annotations

import itertools
import platform
import socket
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from fake_providers import HOLD_SECONDS, Api, FakeProviders, Scripted, StreamLog, stream_events
from sdk_providers import real_provider

from aichat.core.errors import ProviderTimeout
from aichat.providers.failover import Failover, RetryPolicy, StreamStopped
from aichat.providers.interface import (
    CompletionRequest,
    ModelRoute,
    Provider,
    ProviderStream,
    StreamPart,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Turn,
)

APIS: list[Api] = ["openai", "anthropic"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
TICKET = ToolSpec(name="create_ticket", description="Open a support ticket.",
                  parameters={"type": "object", "additionalProperties": False, "required": ["title"],
                              "properties": {"title": {"type": "string"}}})
CHECK_EVERY = 0.05  # how often the failover asks whether a stop was asked for, as STOP_CHECK_SECONDS
HUNG_UP_WITHIN = CHECK_EVERY + 2.0  # the limit of the wait for the fake to see its connection closed
READ_TIMEOUT = 20.0  # the SDK's read timeout: never what ends a stream here
Parts = Iterator[tuple[ModelRoute, StreamPart]]
assert HOLD_SECONDS > READ_TIMEOUT > HUNG_UP_WITHIN, "the fake stays silent past anything but a hang-up"


def build(api: str, fake: FakeProviders) -> Provider:
    return real_provider(api, fake, READ_TIMEOUT)


def request(api: str, **changes: Any) -> CompletionRequest:
    fields: dict[str, Any] = dict(model=MODELS[api], system="You are a support assistant.", max_tokens=64,
                                  temperature=None, messages=(Turn("user", "My router blinks red."),))
    return CompletionRequest(**(fields | changes))


def streamed(api: str, fake: FakeProviders, stop: threading.Event, **clock: Any) -> Parts:
    chain = Failover({api: build(api, fake)}.__getitem__,
                     RetryPolicy(max_retries=0, attempt_timeout=READ_TIMEOUT, deadline=60), **clock)
    return chain.stream([ModelRoute(api, MODELS[api])], request(api, tools=(TICKET,)), chain.start(), stop.is_set,
                        CHECK_EVERY)


def silent(fake: FakeProviders, reply: Scripted) -> Scripted:
    """Once the fake has written every event before the ones it holds: from then on it sends nothing."""
    while not fake.streams or not fake.requests:
        time.sleep(0.005)
    api, body = fake.requests[0].api, fake.requests[0].body
    head, _ = stream_events(api, body, reply)
    deadline = time.monotonic() + HUNG_UP_WITHIN
    while fake.streams[0].events < len(head):
        assert time.monotonic() < deadline, f"the fake never wrote its {len(head)} events: {fake.streams[0]}"
        time.sleep(0.005)
    return reply


def hung_up(fake: FakeProviders) -> StreamLog:
    """The fake's stream once it saw the client close, while it was silent; AssertionError if it did not within
    HUNG_UP_WITHIN seconds."""
    log = fake.wait_stream_done(0, timeout=HUNG_UP_WITHIN)
    assert log.closed_early and log.closed_while_waiting and not log.final_sent, log
    return log


@pytest.fixture
def held() -> Iterator[threading.Event]:
    """What the fake waits for before its last events: never set while a test runs, so it stays silent."""
    event = threading.Event()
    yield event
    event.set()


# --- the failover hangs up the provider ---------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_a_stop_while_the_provider_is_silent_hangs_up_its_connection_well_before_the_read_timeout(
        api: Api, fake: FakeProviders, held: threading.Event) -> None:
    stop = threading.Event()
    reply = Scripted(deltas=["Check ", "the cable"], hold_last=held)
    fake.enqueue(api, reply)
    stream = streamed(api, fake, stop)
    first = list(itertools.islice(stream, 2))
    silent(fake, reply)
    stop.set()
    with pytest.raises(StreamStopped):
        next(stream)
    assert [part for _, part in first] == [TextDelta("Check "), TextDelta("the cable")]
    hung_up(fake)


@pytest.mark.parametrize("api", APIS)
def test_a_stop_while_tool_arguments_stream_hangs_up_the_silent_provider(
        api: Api, fake: FakeProviders, held: threading.Event) -> None:
    stop = threading.Event()
    reply = Scripted(tool_calls=[("call_1", "create_ticket", {"title": "Line drops at night"})], hold_last=held)
    fake.enqueue(api, reply)
    stream = streamed(api, fake, stop)
    (_, first), = itertools.islice(stream, 1)
    silent(fake, reply)
    stop.set()
    with pytest.raises(StreamStopped):
        list(stream)
    assert isinstance(first, ToolCallDelta)
    hung_up(fake)


@pytest.mark.parametrize("api", APIS)
def test_the_turns_deadline_while_the_provider_is_silent_hangs_up_its_connection(
        api: Api, fake: FakeProviders, held: threading.Event) -> None:
    now = [0.0]
    reply = Scripted(deltas=["Check "], hold_last=held)
    fake.enqueue(api, reply)
    stream = streamed(api, fake, threading.Event(), monotonic=lambda: now[0])
    (_, first), = itertools.islice(stream, 1)
    silent(fake, reply)
    now[0] = 61.0  # past the turn's 60 s
    with pytest.raises(ProviderTimeout):
        next(stream)
    assert first == TextDelta("Check ")
    hung_up(fake)


@pytest.mark.parametrize("api", APIS)
def test_a_caller_that_closes_the_failovers_stream_hangs_up_the_silent_provider(
        api: Api, fake: FakeProviders, held: threading.Event) -> None:
    reply = Scripted(deltas=["Check "], hold_last=held)
    fake.enqueue(api, reply)
    stream = streamed(api, fake, threading.Event())
    (_, first), = itertools.islice(stream, 1)
    silent(fake, reply)
    stream.close()  # type: ignore[attr-defined]  # a generator: the caller left
    assert first == TextDelta("Check ")
    hung_up(fake)


@pytest.mark.parametrize("api", APIS)
def test_a_reply_read_to_its_end_is_never_hung_up(api: Api, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(deltas=["All ", "of it."]))
    parts = [part for _, part in streamed(api, fake, threading.Event())]
    assert [p for p in parts if isinstance(p, TextDelta)] == [TextDelta("All "), TextDelta("of it.")]
    log = fake.wait_stream_done(0)
    assert log.final_sent and not log.closed_early


# --- the mechanism, on a real socket --------------------------------------------------------------------------------


class _Response:
    """What `ProviderStream.reading` looks at in an httpx2 response: httpcore's network_stream extension."""

    def __init__(self, connection: socket.socket) -> None:
        self.extensions = {"network_stream": self}
        self._connection = connection

    def get_extra_info(self, info: str) -> Any:
        return self._connection if info == "socket" else None


@pytest.fixture
def connected() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A real TCP connection on loopback: (the client's end, the server's end)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        yield client, server


def reads_forever(connection: socket.socket, line: ProviderStream,
                  reading: threading.Event | None = None) -> Generator[StreamPart, None, None]:
    """A stream whose read blocks until the peer sends (it never does) or the connection is shut down."""
    with line.reading(_Response(connection)):
        if reading is not None:
            reading.set()
        received = connection.recv(1)
    yield TextDelta(received.decode() or "(end)")


# The system calls socket.recv() waits in, by number on the machines this runs on: poll/ppoll when the socket has a
# timeout (as the SDKs' sockets do), recvfrom without one.
_WAITING_CALLS = {"x86_64": {"7", "271", "45"}, "aarch64": {"73", "207"}}


def blocked_in_recv(thread: threading.Thread) -> bool:
    """Whether the thread waits inside socket.recv() now, as Linux says in /proc (where it cannot, True)."""
    numbers = _WAITING_CALLS.get(platform.machine())
    try:
        with open(f"/proc/self/task/{thread.native_id}/syscall") as current:
            return numbers is None or current.read().split()[0] in numbers
    except OSError:
        return True


def test_hanging_up_from_another_thread_wakes_a_read_blocked_on_the_socket_and_the_peer_sees_it_closed(
        connected: tuple[socket.socket, socket.socket]) -> None:
    client, server = connected
    client.settimeout(READ_TIMEOUT)
    server.settimeout(HUNG_UP_WITHIN)
    reading = threading.Event()
    stream = ProviderStream(lambda line: reads_forever(client, line, reading))
    woke: list[StreamPart] = []
    reader = threading.Thread(target=lambda: woke.extend(stream), daemon=True)
    reader.start()
    assert reading.wait(HUNG_UP_WITHIN)
    deadline = time.monotonic() + HUNG_UP_WITHIN
    while not blocked_in_recv(reader):  # hang up only once the read is blocked, as a silent provider leaves it
        assert time.monotonic() < deadline, "the reader never blocked in recv()"
        time.sleep(0.005)
    stream.hang_up()
    assert server.recv(1) == b"", "the peer sees the end of the connection (a FIN), not silence"
    reader.join(HUNG_UP_WITHIN)
    assert woke == [TextDelta("(end)")], "the blocked read returned, as at the end of the stream"


def test_a_hang_up_asked_before_the_body_is_read_shuts_the_connection_as_reading_starts(
        connected: tuple[socket.socket, socket.socket]) -> None:
    client, server = connected
    client.settimeout(READ_TIMEOUT)
    server.settimeout(HUNG_UP_WITHIN)
    stream = ProviderStream(lambda line: reads_forever(client, line))
    stream.hang_up()
    assert list(stream) == [TextDelta("(end)")]
    assert server.recv(1) == b""


def test_a_hang_up_after_the_body_was_read_leaves_the_connection_alone_for_the_next_call(
        connected: tuple[socket.socket, socket.socket]) -> None:
    client, server = connected
    client.settimeout(HUNG_UP_WITHIN)
    server.sendall(b"x")
    stream = ProviderStream(lambda line: reads_forever(client, line))
    assert list(stream) == [TextDelta("x")]
    stream.hang_up()  # the SDK may have handed the connection back to its pool: another call's now
    client.sendall(b"y")
    server.settimeout(HUNG_UP_WITHIN)
    assert server.recv(1) == b"y", "the connection still carries another request"
