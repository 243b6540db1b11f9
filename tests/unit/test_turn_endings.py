"""However a turn goes wrong once its first call is reserved, it ends settled or released, never left pending; and
what a model sends (text, tool-call ids and arguments) is made whole before a stream or the table sees it.

In-process (moto DynamoDB), through both SDKs against the loopback fake where a provider's wire format matters; the
same rows are checked over HTTP in tests/contract/test_model_input_over_http.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters
from fake_providers import FakeProviders, Scripted, Usage
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.api import ui_stream
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.core.settings import Settings
from aichat.table import keys
from aichat.turn.stream_events import ReplyText, TurnStarted

DAY = "2026-11-24"
ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-6"}
GRIN = "\U0001f600"
HIGH, LOW, LONE = "\ud83d", "\ude00", "\ud800"  # GRIN's halves, and a half of nothing


@pytest.fixture
def sdk_settings(settings: Settings, fake: FakeProviders) -> Settings:
    return settings.model_copy(update={
        "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.openai_url, "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": fake.anthropic_url, "LLM_TIMEOUT_SECONDS": 5, "LLM_MAX_RETRIES": 0})


def through(provider: str, settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any,
            clock: FakeClock) -> wiring.Services:
    return wiring.build(settings.model_copy(update={"LLM_PROVIDER": provider, "LLM_MODEL": MODELS[provider]}),
                        dynamodb=dynamodb, sns=sns, events=eventbridge, clock=clock)


def parts_of(services: wiring.Services, message: str) -> list[dict[str, Any]]:
    """The parts a client reads, from the bytes it gets: each must be UTF-8 JSON."""
    turn = services.chat.stream(ALICE, ChatRequest(message=message))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    events = b"".join(ui_stream.chunks(first, turn)).decode("utf-8").split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], events[-3:]
    return [json.loads(e.removeprefix("data: ")) for e in events[:-2]]


def of_type(parts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [p for p in parts if p["type"] == kind]


def text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(p["delta"] for p in of_type(parts, "text-delta"))


def metadata_of(parts: list[dict[str, Any]]) -> dict[str, Any]:
    (part,) = of_type(parts, "message-metadata")
    return dict(part["messageMetadata"])


def messages(services: wiring.Services, session_id: str) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in services.sessions.history(ALICE, session_id, 50, None).messages]


def user_item(dynamodb: Any, session_id: str, message_id: str) -> dict[str, Any]:
    return dict(dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": keys.session_pk(session_id)},
                                                             "SK": {"S": keys.message_sk(message_id)}})["Item"])


def tickets(dynamodb: Any) -> list[dict[str, Any]]:
    return [i for i in dynamodb.scan(TableName="ai-chat", ConsistentRead=True)["Items"]
            if i["PK"]["S"].startswith("TICKET#")]


def price(provider: str, *usages: Usage) -> int:
    return sum(PriceTable().cost_micros(MODELS[provider], Counted(u.input, u.output)) for u in usages)


# --- R2: what a model sends is made whole ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_character_split_between_two_pieces_and_a_lone_half_stream_whole_and_the_turn_settles_at_its_usage(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = through(provider, sdk_settings, dynamodb, sns, eventbridge, clock)
    usage = Usage(input=44, output=9)
    fake.enqueue(provider, Scripted(deltas=["Smile ", HIGH, LOW, f" or {LONE} not."], usage=usage))
    parts = parts_of(services, "Say something")
    assert not of_type(parts, "error") and parts[-1] == {"type": "finish", "finishReason": "stop"}
    assert text_of(parts) == f"Smile {GRIN} or \ufffd not."
    assert GRIN in [p["delta"] for p in of_type(parts, "text-delta")], "the two halves are sent as one character"
    meta = metadata_of(parts)
    user, reply = messages(services, meta["session_id"])
    assert (user["status"], reply["content"], meta["estimated"]) == ("ok", text_of(parts), False)
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == price(provider, usage), "charged, not swept to 0"
    assert_invariant(dynamodb, "ai-chat")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_lone_halves_in_a_tool_calls_id_and_arguments_are_made_whole_the_tool_runs_and_the_turn_settles(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = through(provider, sdk_settings, dynamodb, sns, eventbridge, clock)
    # The title's halves arrive as they are (the fake's JSON escapes each); the description's lone half arrives
    # escaped inside the arguments' own JSON, as a model writes "\ud800".
    arguments = f'{{"title": "Line {HIGH}{LOW} {LONE}", "priority": "low", "description": "a\\ud800"}}'
    first, second = Usage(input=50, output=20), Usage(input=90, output=6)
    fake.enqueue(provider, Scripted(tool_calls=[(f"call_{LONE}1", "create_ticket", arguments)], usage=first),
                 Scripted(deltas=["Ticket ", "opened."], usage=second))
    parts = parts_of(services, "My line drops, open a ticket")
    (called,) = of_type(parts, "tool-input-available")
    assert called["toolCallId"] == "call_\ufffd1"
    assert called["input"] == {"title": f"Line {GRIN} \ufffd", "priority": "low", "description": "a\ufffd"}
    assert of_type(parts, "tool-output-available")[0]["output"]["title"] == f"Line {GRIN} \ufffd"
    assert text_of(parts) == "Ticket opened." and not of_type(parts, "error")
    sent_back = json.dumps(fake.sent(provider)[1]["messages"])
    assert "\\ud800" not in sent_back.lower(), "the model is never sent back half a character"
    (ticket,) = tickets(dynamodb)
    assert ticket["title"]["S"] == f"Line {GRIN} \ufffd"
    user, reply = messages(services, metadata_of(parts)["session_id"])
    assert user["status"] == "ok" and reply["function_calls"][0]["id"] == "call_\ufffd1"
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == price(provider, first, second)
    assert_invariant(dynamodb, "ai-chat")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_post_chat_makes_a_tool_calls_id_arguments_and_reply_whole_too(
        provider: str, sdk_settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = through(provider, sdk_settings, dynamodb, sns, eventbridge, clock)
    call = (f"call_{LONE}1", "create_ticket", {"title": f"Line {LONE}", "priority": "low", "description": None})
    fake.enqueue(provider, Scripted(tool_calls=[call]), Scripted(text=f"Done {LONE}."))
    answer = services.chat.send(ALICE, ChatRequest(message="My line drops, open a ticket"))
    assert (answer.message, answer.metadata.stopped) == ("Done \ufffd.", None)
    (made,) = answer.function_calls
    assert (made.id, made.status, made.arguments) == (
        "call_\ufffd1", "ok", {"title": "Line \ufffd", "priority": "low", "description": None})
    assert "\\ud800" not in json.dumps(fake.sent(provider)[1]["messages"]).lower()
    assert_invariant(dynamodb, "ai-chat")


# --- any failure after the reservation: settled or released, never pending ---------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_store_failure_after_tools_ran_settles_the_turn_charging_its_answered_call(
        streamed: bool, services: wiring.Services, provider: ScriptedProvider, dynamodb: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*_: Any, **__: Any) -> Any:
        raise ConnectionError("the table did not answer")

    monkeypatch.setattr(services.ledger, "advance", unavailable)
    message = "Please create a ticket: Router keeps rebooting, urgent"
    if streamed:
        parts = parts_of(services, message)
        meta, calls = metadata_of(parts), of_type(parts, "tool-output-available")
        session_id, stopped, cost = meta["session_id"], meta["stopped"], meta["cost_cents"]
        assert len(calls) == 1 and "went wrong on our side" in text_of(parts)
    else:
        answer = services.chat.send(ALICE, ChatRequest(message=message))
        session_id, stopped, cost = answer.session_id, answer.metadata.stopped, answer.metadata.cost_cents
        assert [c.status for c in answer.function_calls] == ["ok"] and "went wrong" in answer.message
    assert stopped == "internal_error" and cost > 0, "the call that answered is charged"
    user, reply = messages(services, session_id)
    assert reply["stopped"] == "internal_error" and reply["function_calls"][0]["status"] == "ok"
    assert user["status"] == "ok" and len(tickets(dynamodb)) == 1 and len(provider.history) == 1
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == round(cost * 10_000)
    assert_invariant(dynamodb, "ai-chat")


def test_a_turn_its_reader_leaves_mid_reply_is_settled_at_an_estimate_before_the_close_returns(
        services: wiring.Services, dynamodb: Any) -> None:
    turn = services.chat.stream(ALICE, ChatRequest(message="Tell me about my router"))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    heard: list[str] = []
    while len(heard) < 3:
        event = next(turn)
        if isinstance(event, ReplyText):
            heard.append(event.text)
    turn.close()  # as a reader that failed on its own does, or drops the generator
    user, reply = messages(services, first.session_id)
    assert user["status"] == "ok" and (reply["stopped"], reply["estimated"]) == ("internal_error", True)
    assert reply["content"] == "".join(heard)
    charged = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    assert 0 < charged <= int(user_item(dynamodb, first.session_id, first.user_message_id)["reserved_micros"]["N"])
    assert_invariant(dynamodb, "ai-chat")


def test_a_turn_its_reader_leaves_before_any_reply_is_released_before_the_close_returns(
        services: wiring.Services, provider: ScriptedProvider, dynamodb: Any) -> None:
    turn = services.chat.stream(ALICE, ChatRequest(message="Hello"))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    turn.close()
    assert user_item(dynamodb, first.session_id, first.user_message_id)["status"]["S"] == "failed"
    assert provider.history == [], "no model was called"
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == 0
    assert_invariant(dynamodb, "ai-chat")
