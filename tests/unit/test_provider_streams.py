"""Streaming through the OpenAI and Anthropic adapters: their real SDKs against tests/fake_providers.py, which
streams in each API's own server-sent events (127.0.0.1 only).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_providers import FakeProviders, Scripted, Usage, stream_events
from sdk_providers import real_provider

from aichat.core.errors import ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.core.pricing import Usage as Counted
from aichat.providers.faults import incomplete, malformed, unreachable
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    Provider,
    StreamPart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Turn,
)

APIS = ["openai", "anthropic"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
TICKET = ToolSpec(name="create_ticket", description="Open a support ticket.",
                  parameters={"type": "object", "additionalProperties": False, "required": ["title"],
                              "properties": {"title": {"type": "string"}}})


def build(api: str, fake: FakeProviders, timeout: float = 2.0) -> Provider:
    return real_provider(api, fake, timeout)


def request(api: str, **changes: Any) -> CompletionRequest:
    fields: dict[str, Any] = dict(model=MODELS[api], system="You are a support assistant.", max_tokens=64,
                                  temperature=None, messages=(Turn("user", "My router blinks red."),))
    return CompletionRequest(**(fields | changes))


def split(parts: list[StreamPart]) -> tuple[list[str], list[Completion]]:
    """The texts of the deltas, and the Completions, of what a stream yielded."""
    return ([p.text for p in parts if isinstance(p, TextDelta)], [p for p in parts if isinstance(p, Completion)])


def until_cut(stream: Iterator[StreamPart], into: list[StreamPart]) -> ProviderError:
    """Read the stream into `into` until it raises; the error."""
    with pytest.raises(ProviderError) as raised:
        into.extend(stream)
    return raised.value


def first_delta(stream: Iterator[StreamPart]) -> TextDelta:
    part = next(stream)
    assert isinstance(part, TextDelta)
    return part


# --- text and usage -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_text_arrives_as_the_providers_pieces_in_order_and_the_completion_joins_them(
        api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(deltas=["Unplug ", "", "the router", " for ten seconds."]))
    deltas, completions = split(list(build(api, fake).stream(request(api))))
    assert deltas == ["Unplug ", "the router", " for ten seconds."]  # empty pieces are not passed on
    (completion,) = completions
    assert completion.text == "Unplug the router for ten seconds."
    assert completion.provider == api and completion.model == f"{MODELS[api]}-2026-01-01"
    assert completion.stop_reason == ("stop" if api == "openai" else "end_turn") and completion.tool_calls == ()


def test_the_default_fake_text_streams_word_by_word(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(text="Hello from"))
    deltas, _ = split(list(build("openai", fake).stream(request("openai"))))
    assert deltas == ["Hello", " from"]


@pytest.mark.parametrize("api", APIS)
def test_the_streamed_request_is_the_one_complete_sends_with_streaming_asked_for(
        api: str, fake: FakeProviders) -> None:
    provider = build(api, fake)
    provider.complete(request(api, tools=(TICKET,), temperature=0.2 if api == "openai" else None))
    list(provider.stream(request(api, tools=(TICKET,), temperature=0.2 if api == "openai" else None)))
    plain, streamed = fake.sent(api)
    assert streamed.pop("stream") is True and not plain.pop("stream", False)
    if api == "openai":  # without include_usage OpenAI never reports what a streamed reply used
        assert streamed.pop("stream_options") == {"include_usage": True}
    assert streamed == plain


def test_openai_usage_is_taken_from_its_final_chunk_with_cached_tokens_priced_as_cache_reads(
        fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(usage=Usage(input=30, output=9, cache_read=10)))
    *_, completion = build("openai", fake).stream(request("openai"))
    assert isinstance(completion, Completion)
    # The fake sent prompt_tokens=40 with cached_tokens=10.
    assert completion.usage == Counted(input_tokens=30, output_tokens=9, cache_read_tokens=10)


def test_anthropic_output_is_the_last_cumulative_count_never_a_sum_of_the_events(fake: FakeProviders) -> None:
    # message_start says 1 output token, then three message_delta events say 4, 8 and 12 (cumulative).
    fake.enqueue("anthropic", Scripted(usage=Usage(input=25, output=12, cache_read=7, cache_write=3),
                                       message_deltas=3))
    *_, completion = build("anthropic", fake).stream(request("anthropic"))
    assert isinstance(completion, Completion)
    assert completion.usage == Counted(input_tokens=25, output_tokens=12, cache_read_tokens=7, cache_write_tokens=3)


def test_openai_refusal_pieces_count_as_the_reply_text(fake: FakeProviders) -> None:
    def chunk(**fields: Any) -> bytes:
        return b"data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                       **fields}).encode() + b"\n\n"
    fake.enqueue("openai", Scripted(raw=b"".join([
        chunk(choices=[{"index": 0, "delta": {"content": None, "refusal": "I can't"}, "finish_reason": None}]),
        chunk(choices=[{"index": 0, "delta": {"refusal": " help."}, "finish_reason": "stop"}]),
        chunk(choices=[], usage={"prompt_tokens": 5, "completion_tokens": 3}), b"data: [DONE]\n\n"])))
    deltas, (completion,) = split(list(build("openai", fake).stream(request("openai"))))
    assert deltas == ["I can't", " help."] and completion.text == "I can't help."


# --- tool calls -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_tool_call_pieces_are_assembled_into_the_calls_in_their_order(api: str, fake: FakeProviders) -> None:
    first = {"title": "Router blinks red", "priority": "urgent"}
    second = {"reason": "The user asked for a person."}
    fake.enqueue(api, Scripted(text="Opening a ticket.", tool_calls=[("call_1", "create_ticket", first),
                                                                     ("call_2", "escalate_to_human", second)]))
    deltas, (completion,) = split(list(build(api, fake).stream(request(api, tools=(TICKET,)))))
    assert "".join(deltas) == completion.text == "Opening a ticket."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in completion.tool_calls] == [
        ("call_1", "create_ticket", first), ("call_2", "escalate_to_human", second)]
    assert completion.stop_reason == ("tool_calls" if api == "openai" else "tool_use")


@pytest.mark.parametrize("api", APIS)
def test_tool_call_arguments_are_yielded_piece_by_piece_as_they_arrive_after_the_text_and_before_the_completion(
        api: str, fake: FakeProviders) -> None:
    first = {"title": "Router blinks red"}
    second = {"reason": "The user asked for a person."}
    fake.enqueue(api, Scripted(text="Opening a ticket.", tool_calls=[("call_1", "create_ticket", first),
                                                                     ("call_2", "escalate_to_human", second)]))
    parts = list(build(api, fake).stream(request(api, tools=(TICKET,))))
    kinds = [type(p) for p in parts]
    assert kinds.index(ToolCallDelta) > max(i for i, kind in enumerate(kinds) if kind is TextDelta)
    assert kinds[-1] is Completion and kinds.count(Completion) == 1
    pieces = [p for p in parts if isinstance(p, ToolCallDelta)]
    assert all(p.arguments for p in pieces), "empty pieces are not passed on"
    assert [p.index for p in pieces] == sorted(p.index for p in pieces)
    completion = parts[-1]
    assert isinstance(completion, Completion)
    for index, call in enumerate(completion.tool_calls):
        assert "".join(p.arguments for p in pieces if p.index == index) == json.dumps([first, second][index])
        assert json.loads(call.arguments) == [first, second][index]


@pytest.mark.parametrize("api", APIS)
def test_a_reply_of_tool_calls_only_streams_no_text(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(tool_calls=[("call_1", "create_ticket", {"title": "x"})]))
    deltas, (completion,) = split(list(build(api, fake).stream(request(api, tools=(TICKET,)))))
    assert deltas == [] and completion.text == ""
    assert completion.tool_calls == (ToolCall("call_1", "create_ticket", '{"title": "x"}'),)


def test_an_anthropic_tool_call_without_input_has_an_empty_object_as_arguments(fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(tool_calls=[("toolu_1", "escalate_to_human", "")]))
    *_, completion = build("anthropic", fake).stream(request("anthropic", tools=(TICKET,)))
    assert isinstance(completion, Completion) and completion.tool_calls[0].arguments == "{}"


def test_anthropic_tool_input_that_is_not_json_is_an_unreadable_answer(fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(tool_calls=[("toolu_1", "create_ticket", '{"title": "Rout')]))
    with pytest.raises(ProviderError) as raised:
        list(build("anthropic", fake).stream(request("anthropic", tools=(TICKET,))))
    assert raised.value.detail == malformed().detail


@pytest.mark.parametrize("api", APIS)
def test_an_event_that_is_not_json_is_an_unreadable_answer(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(raw=b"event: message_start\ndata: {not json\n\n"))
    with pytest.raises(ProviderError) as raised:
        list(build(api, fake).stream(request(api)))
    assert raised.value.detail == malformed().detail


# --- cuts, early closes, errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_a_stream_closed_before_its_usage_yields_what_arrived_then_raises_the_sdk_error_as_mapped(
        api: str, fake: FakeProviders) -> None:
    # Whether that is a cut stream is the failover's to say, where parts are counted (tests/unit/test_stream_faults).
    fake.enqueue(api, Scripted(deltas=["Check ", "the cable"], cut_before_usage=True))
    parts: list[StreamPart] = []
    error = until_cut(build(api, fake).stream(request(api)), parts)
    assert [p.text for p in parts if isinstance(p, TextDelta)] == ["Check ", "the cable"]
    assert not any(isinstance(p, Completion) for p in parts)
    assert error.code == "provider_error" and error.detail == unreachable().detail and error.transient
    assert not fake.wait_stream_done().final_sent


@pytest.mark.parametrize("api", APIS)
def test_a_stream_that_ends_cleanly_without_its_usage_raises_incomplete_after_yielding_what_arrived(
        api: str, fake: FakeProviders) -> None:
    head, _ = stream_events(api, {"model": MODELS[api]}, Scripted(deltas=["Check ", "the cable"]))
    fake.enqueue(api, Scripted(raw=b"".join(head)))  # the body ends properly, with no finish and no usage
    parts: list[StreamPart] = []
    error = until_cut(build(api, fake).stream(request(api)), parts)
    assert [p.text for p in parts if isinstance(p, TextDelta)] == ["Check ", "the cable"]
    assert error.detail == incomplete().detail and error.transient


@pytest.mark.parametrize("wait", ["hold_last", "pause"])
@pytest.mark.parametrize("api", APIS)
def test_closing_the_stream_after_the_first_delta_closes_the_connection_before_the_reply_ends(
        api: str, wait: str, fake: FakeProviders) -> None:
    held = threading.Event()
    # A pause of 5 s between events (the first delta waits one too): time enough for the client's close to land
    # inside the next one even on a loaded machine.
    fake.enqueue(api, Scripted(hold_last=held) if wait == "hold_last" else Scripted(pause=5.0))
    try:
        stream = build(api, fake, timeout=30).stream(request(api))
        assert first_delta(stream).text == "Hello"
        stream.close()
        log = fake.wait_stream_done()
    finally:
        held.set()
    # Seen before the fake's hold ended (the test sets it only now), and, with pauses between events, while the fake
    # waited for the next one rather than when it next wrote. Held, the fake writes the text back to back, so the close
    # may also land between two of those writes.
    assert log.closed_early and not log.final_sent
    assert log.closed_while_waiting or wait == "hold_last"


@pytest.mark.parametrize("api", APIS)
def test_the_first_delta_is_yielded_before_the_provider_sent_its_last_event(api: str, fake: FakeProviders) -> None:
    held = threading.Event()
    fake.enqueue(api, Scripted(hold_last=held))
    try:
        stream = build(api, fake).stream(request(api))
        first_delta(stream)
        assert not fake.streams[0].final_sent
    finally:
        held.set()
    *_, completion = stream
    assert isinstance(completion, Completion) and completion.text == "Hello from the fake model."
    log = fake.wait_stream_done()
    assert log.final_sent and not log.closed_early
    assert log.first_event_at is not None and log.last_event_at is not None


@pytest.mark.parametrize("api", APIS)
def test_a_stream_that_stalls_past_the_timeout_is_a_provider_timeout(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(pause=60))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        list(build(api, fake, timeout=0.3).stream(request(api)))
    assert time.monotonic() - started < 30, "the read timeout ended the stream, not the provider's next event"


@pytest.mark.parametrize("api", APIS)
def test_a_429_before_the_stream_starts_is_transient_with_the_wait_it_asked_for(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=429, headers={"retry-after": "7"}))
    with pytest.raises(ProviderError) as raised:
        next(build(api, fake).stream(request(api)))
    assert raised.value.transient and raised.value.retry_after == 7.0
    assert fake.streams == [] and len(fake.sent(api)) == 1  # no retry inside the SDK


@pytest.mark.parametrize("api", APIS)
def test_a_401_before_the_stream_starts_means_the_key_is_not_configured(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=401))
    with pytest.raises(ProviderNotConfigured):
        next(build(api, fake).stream(request(api)))
