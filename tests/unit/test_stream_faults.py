"""A provider failing while it streams, caused on the wire by tests/fake_providers.py (127.0.0.1 only) and read
through the real SDKs: a closed, reset or truncated connection, silence past the read timeout, the API's own error
event.

The adapters raise each failure as mapped, whenever it comes; Failover.stream applies the one rule: before the first
part it is a failure to reach the provider (retried, fallen back), after it the reply is cut (`stream_cut()`).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from fake_providers import FakeProviders, Fault, Scripted, split_arguments, sse, stream_events
from sdk_providers import real_provider

from aichat.core.errors import ChatError, ProviderError, ProviderTimeout
from aichat.providers.failover import Failover, RetryPolicy, StreamStopped
from aichat.providers.faults import failed_mid_stream, malformed, sdk_faults, stream_cut, timed_out, unreachable
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    ModelRoute,
    Provider,
    StreamPart,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Turn,
)

APIS = ["openai", "anthropic"]
OTHER = {"openai": "anthropic", "anthropic": "openai"}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
TICKET = ToolSpec(name="create_ticket", description="Open a support ticket.",
                  parameters={"type": "object", "additionalProperties": False, "required": ["title"],
                              "properties": {"title": {"type": "string"}}})
FAULTS: list[Fault] = ["close", "reset", "truncate", "silence", "error"]
LOST: list[Fault] = ["close", "reset", "truncate", "error"]  # the faults that are not a timeout
# What each fault is, as the adapters map it.
MAPPED: dict[Fault, ChatError] = {"close": unreachable(), "reset": unreachable(), "truncate": unreachable(),
                                  "silence": timed_out(), "error": failed_mid_stream()}
SILENCE_TIMEOUT = 0.5  # the SDK's read timeout where a test waits for it to notice silence
PATIENT = 20.0  # the read timeout everywhere else: never reached


def read_timeout(fault: Fault | None) -> float:
    return SILENCE_TIMEOUT if fault == "silence" else PATIENT


def build(api: str, fake: FakeProviders, timeout: float = PATIENT) -> Provider:
    return real_provider(api, fake, timeout)


def request(api: str, **changes: Any) -> CompletionRequest:
    fields: dict[str, Any] = dict(model=MODELS[api], system="You are a support assistant.", max_tokens=64,
                                  temperature=None, messages=(Turn("user", "My router blinks red."),))
    return CompletionRequest(**(fields | changes))


def routes(*apis: str) -> list[ModelRoute]:
    return [ModelRoute(api, MODELS[api]) for api in apis]


def failover(fake: FakeProviders, *, retries: int = 0, timeout: float = PATIENT, **clock: Any) -> Failover:
    """Both SDKs behind a failover; `timeout` is each attempt's (the SDK's per-read) timeout; no wait between
    retries."""
    providers = {api: build(api, fake, timeout) for api in APIS}
    return Failover(providers.__getitem__, RetryPolicy(max_retries=retries, attempt_timeout=timeout, deadline=60),
                    rng=lambda: 0.0, **clock)


def streamed(chain: Failover, apis: list[str], stop: threading.Event | None = None,
             **changes: Any) -> Iterator[tuple[ModelRoute, StreamPart]]:
    """The reply streamed through the failover from the first of `apis`, falling back to the others."""
    stopped = stop.is_set if stop is not None else (lambda: False)
    return chain.stream(routes(*apis), request(apis[0], **changes), chain.start(), stopped, check_every=0.05)


def texts(parts: list[StreamPart]) -> list[str]:
    return [p.text for p in parts if isinstance(p, TextDelta)]


def assert_cut(error: ChatError, fault: Fault) -> None:
    """`error` is the cut-stream error, raised from the fault as the adapter mapped it."""
    assert isinstance(error, ProviderError)
    assert (error.code, error.detail, error.transient) == ("provider_error", stream_cut().detail, True)
    cause = error.__cause__
    assert isinstance(cause, ChatError) and type(cause) is type(MAPPED[fault])
    assert cause.detail == MAPPED[fault].detail


# --- the adapters: every failure as mapped, wherever it comes ------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
def test_an_adapter_raises_a_fault_before_any_part_as_the_sdk_error_it_maps_to(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(fault=fault, fault_after=1))  # after the preamble, which carries no part
    parts: list[StreamPart] = []
    with pytest.raises(ChatError) as raised:
        parts.extend(build(api, fake, read_timeout(fault)).stream(request(api)))
    assert parts == []
    assert type(raised.value) is type(MAPPED[fault]) and raised.value.detail == MAPPED[fault].detail


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
def test_an_adapter_yields_the_text_that_arrived_then_raises_the_fault_as_the_sdk_error_it_maps_to(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    held = threading.Event()
    fake.enqueue(api, Scripted(deltas=["Check ", "the cable"], hold_last=held, fault=fault))
    stream = build(api, fake, read_timeout(fault)).stream(request(api))
    arrived = list(itertools.islice(stream, 2))
    held.set()
    with pytest.raises(ChatError) as raised:
        next(stream)
    assert arrived == [TextDelta("Check "), TextDelta("the cable")]
    # Not the adapter's to call a cut: failover does, knowing parts were handed on.
    assert type(raised.value) is type(MAPPED[fault]) and raised.value.detail == MAPPED[fault].detail


@pytest.mark.parametrize("error", [httpx2.ReadTimeout("read timed out"), httpx2.PoolTimeout("no connection")])
@pytest.mark.parametrize("sdk", [openai, anthropic])
def test_a_transport_timeout_escaping_an_sdk_is_a_provider_timeout(sdk: Any, error: Exception) -> None:
    # No wire fault makes these escape today's SDKs (both wrap what they read): this is the net beneath them.
    with pytest.raises(ProviderTimeout) as raised, sdk_faults("openai", sdk, httpx2):
        raise error
    assert raised.value.detail == timed_out().detail and raised.value.__cause__ is error


@pytest.mark.parametrize("error", [httpx2.ReadError("connection reset"),
                                   httpx2.RemoteProtocolError("incomplete chunked read")])
@pytest.mark.parametrize("sdk", [openai, anthropic])
def test_a_transport_error_escaping_an_sdk_is_a_provider_that_could_not_be_reached(sdk: Any, error: Exception) -> None:
    with pytest.raises(ProviderError) as raised, sdk_faults("anthropic", sdk, httpx2):
        raise error
    assert raised.value.detail == unreachable().detail and raised.value.transient
    assert raised.value.__cause__ is error


# --- the failover: before the first part -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", LOST)
@pytest.mark.parametrize("api", APIS)
def test_a_fault_before_the_first_part_is_retried_and_the_retry_streams_the_reply(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(fault=fault, fault_after=1), Scripted(deltas=["Unplug ", "it."]))
    parts = [part for _, part in streamed(failover(fake, retries=1), [api])]
    assert texts(parts) == ["Unplug ", "it."] and isinstance(parts[-1], Completion)
    assert len(fake.sent(api)) == 2


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
def test_a_fault_before_the_first_part_with_no_retry_left_is_the_failure_to_reach_the_provider_not_a_cut(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(fault=fault, fault_after=1))
    with pytest.raises(ChatError) as raised:
        list(streamed(failover(fake, timeout=read_timeout(fault)), [api]))
    assert type(raised.value) is type(MAPPED[fault]) and raised.value.detail == MAPPED[fault].detail
    assert raised.value.detail != stream_cut().detail


@pytest.mark.parametrize("api", APIS)
def test_silence_before_the_first_part_times_out_and_the_fallback_streams_the_reply(
        api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(fault="silence", fault_after=1))
    fake.enqueue(OTHER[api], Scripted(deltas=["From ", "the fallback."]))
    answered = list(streamed(failover(fake, timeout=SILENCE_TIMEOUT), [api, OTHER[api]]))
    assert {route.provider for route, _ in answered} == {OTHER[api]}
    assert texts([part for _, part in answered]) == ["From ", "the fallback."]


# --- the failover: after the first part ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
def test_a_fault_after_text_is_a_cut_stream_raised_after_the_text_and_neither_retried_nor_fallen_back(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    held = threading.Event()
    fake.enqueue(api, Scripted(deltas=["Check ", "the cable"], hold_last=held, fault=fault))
    stream = streamed(failover(fake, retries=1, timeout=read_timeout(fault)), [api, OTHER[api]])
    arrived = [part for _, part in itertools.islice(stream, 2)]
    held.set()
    with pytest.raises(ProviderError) as raised:
        next(stream)
    assert arrived == [TextDelta("Check "), TextDelta("the cable")]
    assert_cut(raised.value, fault)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
def test_a_fault_after_only_tool_argument_bytes_is_a_cut_stream_raised_after_those_bytes(
        api: str, fault: Fault, fake: FakeProviders) -> None:
    arguments = {"title": "Router blinks red"}
    pieces = split_arguments(json.dumps(arguments))
    held = threading.Event()
    fake.enqueue(api, Scripted(tool_calls=[("call_1", "create_ticket", arguments)], hold_last=held, fault=fault))
    stream = streamed(failover(fake, retries=1, timeout=read_timeout(fault)), [api, OTHER[api]], tools=(TICKET,))
    arrived = [part for _, part in itertools.islice(stream, len(pieces))]
    held.set()
    with pytest.raises(ProviderError) as raised:
        next(stream)
    assert arrived == [ToolCallDelta(0, piece) for piece in pieces]
    assert_cut(raised.value, fault)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_an_unreadable_event_after_the_first_part_stays_an_unreadable_answer(api: str, fake: FakeProviders) -> None:
    head, _ = stream_events(api, {"model": MODELS[api]}, Scripted(deltas=["Check "]))
    fake.enqueue(api, Scripted(raw=b"".join(head) + sse("{not json", "content_block_delta")))
    stream = streamed(failover(fake, retries=1), [api])
    (_, first), = itertools.islice(stream, 1)
    with pytest.raises(ProviderError) as raised:
        next(stream)
    assert first == TextDelta("Check ")
    assert raised.value.detail == malformed().detail and not raised.value.transient


@pytest.mark.parametrize("api", APIS)
def test_the_turns_own_deadline_after_the_first_part_stays_a_timeout_not_a_cut(
        api: str, fake: FakeProviders) -> None:
    now = [0.0]
    held = threading.Event()
    fake.enqueue(api, Scripted(deltas=["Check "], hold_last=held))
    try:
        stream = streamed(failover(fake, monotonic=lambda: now[0]), [api])
        (_, first), = itertools.islice(stream, 1)
        now[0] = 61.0  # past the turn's 60 s: the provider did nothing wrong
        with pytest.raises(ProviderTimeout) as raised:
            next(stream)
    finally:
        held.set()
    assert first == TextDelta("Check ")
    assert raised.value.detail == timed_out().detail and raised.value.__cause__ is None


@pytest.mark.parametrize("api", APIS)
def test_a_stop_after_the_first_part_stays_a_stop_not_a_cut(api: str, fake: FakeProviders) -> None:
    stop = threading.Event()
    held = threading.Event()
    fake.enqueue(api, Scripted(deltas=["Check "], hold_last=held))
    try:
        stream = streamed(failover(fake), [api], stop=stop)
        (_, first), = itertools.islice(stream, 1)
        stop.set()
        with pytest.raises(StreamStopped):
            next(stream)
    finally:
        held.set()
    assert first == TextDelta("Check ")
