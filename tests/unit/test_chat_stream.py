"""POST /chat/stream's turn in-process (moto DynamoDB): the UI message stream's parts, its money, stop, cuts.

The same turn runs POST /chat and the stream: each case reads the parts a client would get and then the table.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters
from fake_providers import FakeProviders, Scripted, Usage, split_arguments
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.api import ui_stream
from aichat.core.errors import DailyCostLimitExceeded, ProviderError, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, CreateSessionRequest, StopRequest, StopResponse
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, CompletionRequest, StreamPart, ToolCallDelta
from aichat.table import keys
from aichat.table.stop_flags import StopWatch
from aichat.turn.stream_events import TurnStarted

DAY = "2026-11-24"
ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
BOB = Identity(user_id="bob", tenant_id="acme", roles=frozenset())


def parts_of(chunks: Iterator[bytes]) -> list[dict[str, Any]]:
    """The parts of an SSE body; the last event must be [DONE]."""
    events = b"".join(chunks).decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], events[-3:]
    return [json.loads(e.removeprefix("data: ")) for e in events[:-2]]


def streamed(services: wiring.Services, message: str, caller: Identity = ALICE,
             session_id: str | None = None, **body: Any) -> list[dict[str, Any]]:
    turn = services.chat.stream(caller, ChatRequest(message=message, session_id=session_id, **body))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    return parts_of(ui_stream.chunks(first, turn))


def text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(p["delta"] for p in parts if p["type"] == "text-delta")


def metadata_of(parts: list[dict[str, Any]]) -> dict[str, Any]:
    (meta,) = [p["messageMetadata"] for p in parts if p["type"] == "message-metadata"]
    return dict(meta)


def stored(services: wiring.Services, session_id: str, caller: Identity = ALICE) -> list[dict[str, Any]]:
    history = services.sessions.history(caller, session_id, 50, None)
    return [m.model_dump(mode="json") for m in history.messages]


def raw_message(dynamodb: Any, session_id: str, message_id: str) -> dict[str, Any]:
    item = dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": keys.session_pk(session_id)},
                                                       "SK": {"S": keys.message_sk(message_id)}})["Item"]
    return dict(item)


# --- the parts ---------------------------------------------------------------------------------------------------


def test_a_streamed_turn_sends_start_a_step_its_text_piece_by_piece_then_metadata_and_finish(
        services: wiring.Services, dynamodb: Any) -> None:
    parts = streamed(services, "My router blinks red")
    kinds = [p["type"] for p in parts]
    assert kinds[:3] == ["start", "start-step", "text-start"]
    assert kinds[-4:] == ["text-end", "finish-step", "message-metadata", "finish"]
    assert kinds.count("text-delta") > 10, "the offline model streams word by word"
    meta = metadata_of(parts)
    assert parts[0]["messageMetadata"]["session_id"] == meta["session_id"]
    user, reply = stored(services, meta["session_id"])
    assert parts[0]["messageMetadata"]["user_message_id"] == user["id"]
    assert reply["content"] == text_of(parts) and reply["id"] == meta["message_id"]
    assert (meta["provider"], meta["estimated"], meta["stopped"]) == ("offline", False, None)
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == round(meta["cost_cents"] * 10_000) > 0


def test_the_stream_and_post_chat_run_the_same_turn_and_store_the_same_reply_at_the_same_cost(
        services: wiring.Services) -> None:
    parts = streamed(services, "How do I reset a password?")
    answer = services.chat.send(BOB, ChatRequest(message="How do I reset a password?"))
    meta = metadata_of(parts)
    assert text_of(parts) == answer.message
    assert (meta["cost_cents"], meta["tokens"]) == (answer.metadata.cost_cents, answer.metadata.tokens)


def test_a_tool_turn_streams_each_call_and_its_result_as_tool_parts_in_a_step_of_its_own(
        services: wiring.Services) -> None:
    parts = streamed(services, "Please create a ticket: the line drops every evening")
    kinds = [p["type"] for p in parts]
    assert kinds.count("start-step") == 2 == kinds.count("finish-step"), "one step per model call"
    (called,) = [p for p in parts if p["type"] == "tool-input-available"]
    (result,) = [p for p in parts if p["type"] == "tool-output-available"]
    assert (called["toolName"], called["dynamic"]) == ("create_ticket", True)
    assert called["input"]["title"] == "the line drops every evening"
    assert result["toolCallId"] == called["toolCallId"] and result["output"]["id"] in text_of(parts)
    assert kinds.index("tool-output-available") < kinds.index("text-start"), "the answer comes after the tool"
    assert text_of(parts).startswith("Ticket created: the line drops every evening")


def test_the_model_handing_over_ends_the_stream_with_the_hand_over_sentence_as_text_after_its_tool_call(
        services: wiring.Services) -> None:
    parts = streamed(services, "I want to talk to a person")
    assert [p["toolName"] for p in parts if p["type"] == "tool-input-available"] == ["escalate_to_human"]
    assert "passed this conversation to a person" in text_of(parts)
    assert metadata_of(parts)["stopped"] == "escalated" and parts[-1]["finishReason"] == "tool-calls"


def test_a_refused_stream_raises_its_limit_before_its_first_part_and_charges_nothing(
        settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any, clock: FakeClock) -> None:
    poor = wiring.build(settings.model_copy(update={"DAILY_COST_LIMIT_CENTS": Decimal("0.0001")}),
                        dynamodb=dynamodb, sns=sns, events=eventbridge, providers={"offline": ScriptedProvider()},
                        clock=clock)
    turn = poor.chat.stream(ALICE, ChatRequest(message="Hello"))
    with pytest.raises(DailyCostLimitExceeded):
        next(turn)
    assert day_counters(dynamodb, "acme", DAY).get("cost_micros", 0) == 0


def test_a_provider_failing_before_any_text_releases_the_turn_and_ends_the_stream_with_an_error_part(
        services: wiring.Services, provider: ScriptedProvider, dynamodb: Any) -> None:
    provider.fail_next(ProviderError("The model provider failed (HTTP 500).", transient=False))
    parts = streamed(services, "Hello")
    assert [p["type"] for p in parts] == ["start", "start-step", "finish-step", "data-error", "error", "finish"]
    (error,) = [p for p in parts if p["type"] == "data-error"]
    assert error["data"]["code"] == "provider_error" and error["transient"] is True
    assert parts[-1]["finishReason"] == "error"
    user = stored(services, error["data"]["session_id"])
    assert [m["status"] for m in user] == ["failed"], "the message is kept, its turn released"
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == 0
    assert_invariant(dynamodb, "ai-chat")


# --- both providers through their SDKs ----------------------------------------------------------------------------


@pytest.fixture
def sdk_settings(settings: Settings, fake: FakeProviders) -> Settings:
    return settings.model_copy(update={
        "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.openai_url, "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake.anthropic_url, "LLM_TIMEOUT_SECONDS": 2, "STOP_CHECK_SECONDS": 0.05,
        "LLM_MAX_RETRIES": 1})


def sdk_services(settings: Settings, provider: str, dynamodb: Any, sns: Any, eventbridge: Any,
                 clock: FakeClock) -> wiring.Services:
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-6"}[provider]
    return wiring.build(settings.model_copy(update={"LLM_PROVIDER": provider, "LLM_MODEL": model}),
                        dynamodb=dynamodb, sns=sns, events=eventbridge, clock=clock)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_each_providers_stream_is_passed_on_as_it_came_and_settled_at_its_reported_usage(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, provider, dynamodb, sns, eventbridge, clock)
    pieces = ["Restart ", "the ", "router, ", "then ", "wait ", "two ", "minutes."]
    fake.enqueue(provider, Scripted(deltas=pieces, usage=Usage(input=321, output=17)))
    parts = streamed(services, "My internet is down")
    assert [p["delta"] for p in parts if p["type"] == "text-delta"] == pieces
    meta = metadata_of(parts)
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-6"}[provider]
    cost = PriceTable().cost_micros(model, Counted(input_tokens=321, output_tokens=17))
    assert (meta["input_tokens"], meta["output_tokens"], meta["estimated"]) == (321, 17, False)
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost == round(meta["cost_cents"] * 10_000)
    assert stored(services, meta["session_id"])[-1]["content"] == "".join(pieces)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_tool_call_streamed_by_either_provider_runs_and_its_answer_streams_in_the_next_step(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, provider, dynamodb, sns, eventbridge, clock)
    call = ("call_1" if provider == "openai" else "toolu_1", "create_ticket",
            {"title": "Line drops", "priority": "urgent", "description": None})
    fake.enqueue(provider, Scripted(tool_calls=[call]), Scripted(deltas=["Ticket ", "opened."]))
    parts = streamed(services, "My line drops, open a ticket")
    (called,) = [p for p in parts if p["type"] == "tool-input-available"]
    assert (called["toolName"], called["input"]["priority"]) == ("create_ticket", "urgent")
    assert [p["type"] for p in parts].count("tool-output-available") == 1
    assert text_of(parts) == "Ticket opened."
    assert_invariant(dynamodb, "ai-chat")


def test_a_429_before_the_first_piece_is_retried_and_the_retry_streams(
        sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, "openai", dynamodb, sns, eventbridge, clock)
    fake.enqueue("openai", Scripted(status=429, headers={"retry-after": "0"}), Scripted(deltas=["Hi ", "there."]))
    parts = streamed(services, "Hello")
    assert text_of(parts) == "Hi there." and len(fake.sent("openai")) == 2


def test_a_stream_cut_before_its_usage_keeps_the_text_and_charges_an_estimate_within_the_reservation(
        sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, "openai", dynamodb, sns, eventbridge, clock)
    fake.enqueue("openai", Scripted(deltas=["The ", "line ", "is "], cut_before_usage=True))
    parts = streamed(services, "Is my line up?")
    assert text_of(parts) == "The line is "
    assert [p["type"] for p in parts][-6:] == ["text-end", "finish-step", "data-error", "message-metadata",
                                               "error", "finish"]
    assert parts[-1]["finishReason"] == "error"
    meta = metadata_of(parts)
    assert (meta["estimated"], meta["stopped"]) == (True, "provider_error")
    user, reply = stored(services, meta["session_id"])
    assert reply["content"] == "The line is " and reply["estimated"] is True
    charged = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    reserved = int(raw_message(dynamodb, meta["session_id"], user["id"])["reserved_micros"]["N"])
    assert 0 < charged <= reserved
    assert_invariant(dynamodb, "ai-chat")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_stream_cut_after_only_tool_argument_bytes_keeps_the_turn_settled_at_an_estimate_counting_those_bytes(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, provider, dynamodb, sns, eventbridge, clock)
    arguments = {"title": "Line drops", "priority": "urgent", "description": None}
    call = ("call_1" if provider == "openai" else "toolu_1", "create_ticket", arguments)
    fake.enqueue(provider, Scripted(tool_calls=[call], cut_before_usage=True))
    parts = streamed(services, "My line drops, open a ticket")
    kinds = [p["type"] for p in parts]
    assert "tool-input-available" not in kinds, "an unfinished call is never run"
    assert kinds[-4:] == ["data-error", "message-metadata", "error", "finish"]
    meta = metadata_of(parts)
    assert (meta["estimated"], meta["stopped"]) == (True, "provider_error")
    # An output token per byte of the arguments that arrived, as a cut text is charged per byte of its text.
    assert meta["output_tokens"] == len(json.dumps(arguments).encode())
    user, reply = stored(services, meta["session_id"])
    assert (user["status"], reply["estimated"], reply["function_calls"]) == ("ok", True, [])
    assert reply["content"] == text_of(parts) != "", "the reply says what happened"
    charged = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-6"}[provider]
    assert charged == PriceTable().worst_case_micros(model, meta["input_tokens"], meta["output_tokens"])
    assert 0 < charged <= int(raw_message(dynamodb, meta["session_id"], user["id"])["reserved_micros"]["N"])
    assert len(fake.sent(provider)) == 1, "a cut stream is not retried"
    assert_invariant(dynamodb, "ai-chat")


# --- stop --------------------------------------------------------------------------------------------------------


class ArgumentsThenHold:
    """A model that streams a tool call's arguments, then holds its stream open until released."""

    name = "offline"

    def __init__(self, arguments: str) -> None:
        self.arguments = arguments
        self.sent = threading.Event()  # every piece of the arguments was yielded
        self.release = threading.Event()

    def complete(self, request: CompletionRequest) -> Completion:
        raise AssertionError("only streamed")

    def stream(self, request: CompletionRequest) -> Iterator[StreamPart]:
        for piece in split_arguments(self.arguments):
            yield ToolCallDelta(0, piece)
        self.sent.set()
        self.release.wait(30)
        yield Completion(text="", usage=Counted(10, 10), model=request.model, provider=self.name,
                         stop_reason="tool_calls")


def stopped_after(services: wiring.Services, fake: FakeProviders, deltas: int,
                  stop: StopRequest) -> tuple[TurnStarted, list[dict[str, Any]], StopResponse, list[str]]:
    """A long reply read as a client reads the stream, stopped through the stop route (as another function would
    call it) once the client has received `deltas` text deltas: the turn's start, every part read, the stop's
    answer, and the pieces the provider had to send."""
    pieces = [f"word{i} " for i in range(60)]
    fake.enqueue("openai", Scripted(deltas=pieces, pause=0.03))
    turn = services.chat.stream(ALICE, ChatRequest(message="Tell me everything"))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    received: list[dict[str, Any]] = []
    asked: list[StopResponse] = []
    for chunk in ui_stream.chunks(first, turn):
        if chunk != ui_stream.DONE:
            received.append(json.loads(chunk.decode().removeprefix("data: ")))
        if sum(p["type"] == "text-delta" for p in received) == deltas and not asked:
            asked.append(services.sessions.stop(ALICE, first.session_id, stop))
    return first, received, asked[0], pieces


def test_a_stop_through_the_table_ends_the_reply_where_it_is_and_closes_the_providers_stream(
        sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, "openai", dynamodb, sns, eventbridge, clock)
    first, received, _, pieces = stopped_after(services, fake, 3, StopRequest())
    meta = metadata_of(received)
    user, reply = stored(services, first.session_id)
    assert (reply["stopped"], reply["estimated"]) == ("stopped", True)
    assert reply["content"] == text_of(received) and "".join(pieces).startswith(reply["content"])
    assert 3 <= len(reply["content"].split()) < len(pieces)
    assert meta["stopped"] == "stopped" and received[-1] == {"type": "finish", "finishReason": "other"}
    log = fake.wait_stream_done(0, timeout=5)
    assert log.closed_early and not log.final_sent, "the provider's stream was closed, not read to its end"
    session = dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": keys.session_pk(first.session_id)},
                                                          "SK": {"S": keys.SESSION_SK}})["Item"]
    assert session["stop_turn"]["S"] == first.user_message_id == user["id"], "the stop went through the table"
    charged = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    assert 0 < charged <= int(raw_message(dynamodb, first.session_id, user["id"])["reserved_micros"]["N"])
    assert_invariant(dynamodb, "ai-chat")


def test_a_stop_saying_how_many_deltas_were_shown_stores_exactly_their_text_and_charges_what_was_produced(
        sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = sdk_services(sdk_settings, "openai", dynamodb, sns, eventbridge, clock)
    # The client showed only two of the five deltas it had received when its person pressed Stop.
    first, received, asked, _ = stopped_after(services, fake, 5, StopRequest(deltas_shown=2))
    assert asked.ended is False, "the turn was still being answered"
    deltas = [p["delta"] for p in received if p["type"] == "text-delta"]
    assert len(deltas) > 2
    _, reply = stored(services, first.session_id)
    assert (reply["content"], reply["stopped"]) == ("".join(deltas[:2]), "stopped"), "exactly what was shown"
    meta = metadata_of(received)
    assert meta["output_tokens"] >= len(deltas), "charged for every piece the provider produced, not only those"
    assert_invariant(dynamodb, "ai-chat")


def test_a_stop_while_tool_arguments_stream_charges_an_output_token_per_argument_byte_that_arrived(
        settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any, clock: FakeClock) -> None:
    model = ArgumentsThenHold('{"title": "Line drops", "priority": "urgent", "description": null}')
    services = wiring.build(settings.model_copy(update={"STOP_CHECK_SECONDS": 0.05}), dynamodb=dynamodb, sns=sns,
                            events=eventbridge, providers={"offline": model}, clock=clock)
    turn = services.chat.stream(ALICE, ChatRequest(message="My line drops, open a ticket"))
    first = next(turn)
    assert isinstance(first, TurnStarted)

    def stop_once_the_arguments_were_sent() -> None:
        if model.sent.wait(30):
            services.sessions.stop(ALICE, first.session_id, StopRequest())

    stopper = threading.Thread(target=stop_once_the_arguments_were_sent)
    stopper.start()
    try:
        parts = parts_of(ui_stream.chunks(first, turn))
    finally:
        model.release.set()
        stopper.join(30)
    meta = metadata_of(parts)
    assert (meta["stopped"], meta["estimated"]) == ("stopped", True)
    assert meta["output_tokens"] == len(model.arguments.encode())
    user, reply = stored(services, first.session_id)
    assert reply["function_calls"] == [], "an unfinished call is never run"
    charged = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    assert 0 < charged <= int(raw_message(dynamodb, first.session_id, user["id"])["reserved_micros"]["N"])
    assert_invariant(dynamodb, "ai-chat")


def test_a_stop_reaches_only_the_turn_that_was_live_when_it_was_asked_for(services: wiring.Services) -> None:
    first = metadata_of(streamed(services, "Hello"))
    late = services.sessions.stop(ALICE, first["session_id"], StopRequest(deltas_shown=1))
    assert late.message_id is not None and late.ended, "the answer says the turn had ended: nothing changed"
    assert stored(services, first["session_id"])[1]["stopped"] is None
    later = streamed(services, "Hello again", session_id=first["session_id"])
    assert metadata_of(later)["stopped"] is None, "a stop asked before this turn began does not end it"


def test_the_stop_route_answers_not_found_for_someone_elses_session_and_null_before_any_turn(
        services: wiring.Services) -> None:
    session = metadata_of(streamed(services, "Hello"))["session_id"]
    with pytest.raises(SessionNotFound):
        services.sessions.stop(BOB, session, StopRequest())
    with pytest.raises(SessionNotFound):
        services.sessions.stop(ALICE, "01JD0000000000000000000000", StopRequest())
    fresh = services.sessions.create(ALICE, CreateSessionRequest(session_type="customer_support"))
    assert services.sessions.stop(ALICE, fresh.id, StopRequest()).message_id is None


def test_a_stop_watch_reads_the_table_at_most_once_per_interval_and_remembers_a_stop() -> None:
    now = [100.0]
    answers = iter([(False, None), (False, None), (True, 7)])
    reads: list[float] = []

    def read() -> tuple[bool, int | None]:
        reads.append(now[0])
        return next(answers)

    watch = StopWatch(read, 1.0, lambda: now[0])
    for _ in range(50):  # a fast stream asks on every piece
        now[0] += 0.1
        watch()
    assert len(reads) == 3 and reads[0] >= 101.0 and min(b - a for a, b in itertools.pairwise(reads)) >= 1.0
    assert watch.stopped and watch.reads == 3 and watch.deltas_shown == 7, "with what the stop said was shown"
    now[0] += 10
    assert watch() and watch.reads == 3, "once stopped, it reads no more"


@pytest.mark.parametrize(("remaining", "swept_after"), [(None, 120 + 30 + 60), (50, 50 + 60), (3600, 120 + 30 + 60)])
def test_a_streams_reservation_may_be_swept_only_after_its_deadline_or_its_invocations_end(
        services: wiring.Services, dynamodb: Any, clock: FakeClock, remaining: float | None,
        swept_after: int) -> None:
    turn = services.chat.stream(ALICE, ChatRequest(message="Hello"), remaining_seconds=remaining)
    first = next(turn)
    assert isinstance(first, TurnStarted)
    pending = raw_message(dynamodb, first.session_id, first.user_message_id)
    assert pending["status"]["S"] == "pending"
    assert int(pending["sweep_after"]["N"]) == int(clock.now.timestamp()) + swept_after
    parts_of(ui_stream.chunks(first, turn))
    assert "sweep_after" not in raw_message(dynamodb, first.session_id, first.user_message_id)
