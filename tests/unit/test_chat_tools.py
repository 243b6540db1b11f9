"""A chat turn in which the model acts: tools called, budgeted model call by model call, through the chat handler."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from conftest import Api, FakeClock, ScriptedProvider
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.core.errors import ProviderError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, ToolCall
from aichat.table import keys

TICKET = "Please create a ticket: Router keeps rebooting, urgent"
ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())


def build(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock,
          **changes: Any) -> wiring.Services:
    return wiring.build(settings.model_copy(update=changes), dynamodb=dynamodb, providers={"offline": provider},
                        clock=clock)


def asks_for(*calls: tuple[str, str], text: str = "") -> Any:
    """The next answer asks for these tools ((name, arguments JSON text), ...) instead of answering."""
    def change(answer: Completion) -> Completion:
        return dataclasses.replace(answer, text=text, stop_reason="tool_calls", tool_calls=tuple(
            ToolCall(id=f"call_{i}_{name}", name=name, arguments=arguments)
            for i, (name, arguments) in enumerate(calls)))
    return change


def tickets(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName="ai-chat", ConsistentRead=True)["Items"]
    return [i for i in items if i["PK"]["S"].startswith("TICKET#")]


def tool_turns(provider: ScriptedProvider, call: int) -> list[str]:
    return [t.role for t in provider.history[call].messages]


# --- the offline model acts end to end -----------------------------------------------------------------------------


def test_the_offline_model_creates_a_ticket_owned_by_the_caller_and_answers_with_it(
        api: Api, dynamodb: Any, provider: ScriptedProvider) -> None:
    reply = api.chat(TICKET)
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    assert (call["name"], call["status"]) == ("create_ticket", "ok")
    assert call["arguments"] == {"title": "Router keeps rebooting, urgent", "priority": "urgent", "description": None}
    assert call["result"]["status"] == "open" and call["result"]["priority"] == "urgent"
    assert reply.body["message"].startswith("Ticket created: Router keeps rebooting, urgent (urgent)")
    assert call["result"]["id"] in reply.body["message"]
    assert reply.body["metadata"]["stopped"] is None
    (ticket,) = tickets(dynamodb)
    assert ticket["PK"]["S"] == keys.ticket_pk(call["result"]["id"])
    assert (ticket["tenant_id"]["S"], ticket["user_id"]["S"], ticket["session_id"]["S"]) == (
        "acme", "user-1", reply.body["session_id"])
    assert len(provider.history) == 2, "one model call asked for the tool, one answered with its result"
    assert_invariant(dynamodb, "ai-chat")


def test_history_shows_the_calls_and_a_later_turn_sends_them_to_the_model_paired_with_their_results(
        api: Api, provider: ScriptedProvider) -> None:
    session_id = api.chat(TICKET).body["session_id"]
    history = api.invoke("get_history", session_id=session_id).body["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert [c["name"] for c in history[1]["function_calls"]] == ["create_ticket"]
    assert history[0]["function_calls"] == []
    assert api.chat("thanks", session_id).status == 200
    later = provider.history[-1].messages
    assert [t.role for t in later] == ["user", "assistant", "tool", "assistant", "user"]
    assert later[2].tool_results[0].call_id == later[1].tool_calls[0].id
    assert json.loads(later[2].tool_results[0].content)["status"] == "open"


def test_talk_to_a_person_escalates_the_session_and_ends_the_turn_without_another_model_call(
        api: Api, provider: ScriptedProvider, sns: Any) -> None:
    reason = "I want to talk to a person about my bill"
    reply = api.chat(reason)
    assert reply.status == 200, reply.body
    assert reply.body["metadata"]["stopped"] == "escalated"
    assert [c["name"] for c in reply.body["function_calls"]] == ["escalate_to_human"]
    assert "person" in reply.body["message"]
    assert len(provider.history) == 1
    session = api.invoke("get_history", session_id=reply.body["session_id"]).body["metadata"]
    assert (session["status"], session["escalation_reason"]) == ("escalated", reason)
    kept = api.chat("are you there?", reply.body["session_id"])
    assert (kept.status, kept.body["status"]) == (200, "waiting_for_person")
    assert len(provider.history) == 1, "a message to a person calls no model"


def test_a_session_type_without_tools_offers_the_model_none(api: Api, provider: ScriptedProvider) -> None:
    reply = api.invoke("chat", {"message": TICKET, "session_id": None, "session_type": "analytics"})
    assert reply.body["function_calls"] == [] and provider.history[0].tools == ()


def test_a_turn_with_one_tool_call_takes_five_dynamodb_round_trips_after_a_turn_of_its_session_here(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, TENANT_CONFIG_TTL_SECONDS=60)  # as deployed
    session_id = services.chat.send(ALICE, ChatRequest(message="warm up")).session_id
    calls: Counter[str] = Counter()
    count = lambda model, **_: calls.update([model.name])  # noqa: E731
    dynamodb.meta.events.register("before-call.dynamodb", count)
    services.chat.send(ALICE, ChatRequest(message=TICKET, session_id=session_id))
    dynamodb.meta.events.unregister("before-call.dynamodb", count)
    # No read: the warm-up turn kept the conversation (aichat/turn/context_cache.py). Reserve, whether a person took
    # the session (no tool runs after a take), the ticket, settle the first call and reserve the second, settle.
    assert calls == Counter({"TransactWriteItems": 3, "GetItem": 1, "PutItem": 1})


# --- budgets, step by step -----------------------------------------------------------------------------------------


def test_a_next_model_call_a_budget_refuses_ends_the_turn_with_200_keeping_what_the_tools_did(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    # A first run learns what the first model call reserves (the session's counter while it runs).
    held: list[int] = []
    probe = build(settings, dynamodb, provider, clock)
    provider.before_reply = lambda: held.append(probe.store.session(provider_session[0], ALICE).total_cost_micros)
    provider_session: list[str] = []
    original_reserve = probe.ledger.reserve

    def reserve(*args: Any, **kwargs: Any) -> Any:
        reservation = original_reserve(*args, **kwargs)
        provider_session.append(reservation.session_id)
        return reservation

    probe.ledger.reserve = reserve  # type: ignore[method-assign]
    probe.chat.send(ALICE, ChatRequest(message=TICKET))
    provider.before_reply = None
    first_call = held[0]
    # Room for the first call's worst case, not for the second's on top of the first's cost.
    services = build(settings, dynamodb, provider, clock,
                     SESSION_COST_LIMIT_CENTS=Decimal(first_call + 100) / 10_000)
    provider.history.clear()
    reply = services.chat.send(ALICE, ChatRequest(message=TICKET))
    assert reply.metadata.stopped == "session_cost_limit_exceeded"
    assert [c.status for c in reply.function_calls] == ["ok"]
    assert len(tickets(dynamodb)) == 2 and len(provider.history) == 1, "the probe's ticket and this one"
    assert reply.message.startswith("I did the actions listed, but had to stop there:")
    assert reply.metadata.cost_cents > 0
    assert_invariant(dynamodb, "ai-chat")


def test_a_model_that_keeps_asking_for_tools_is_stopped_after_max_tool_steps_calls(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_TOOL_STEPS=3)
    ticket = json.dumps({"title": "again", "priority": "low", "description": None})
    for _ in range(5):
        provider.answer_next(asks_for(("create_ticket", ticket)))
    reply = services.chat.send(ALICE, ChatRequest(message="loop"))
    assert len(provider.history) == 3
    assert reply.metadata.stopped == "max_tool_steps"
    assert len(reply.function_calls) == 2 == len(tickets(dynamodb)), "the last call's tools are not run"
    assert reply.message == "I stopped after 3 steps; the actions listed are what was done."
    assert_invariant(dynamodb, "ai-chat")


def test_a_turn_stopped_at_one_step_says_so_in_the_singular_and_lists_no_actions_it_did_not_take(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_TOOL_STEPS=1)
    provider.answer_next(asks_for(("create_ticket", json.dumps({"title": "t", "priority": "low",
                                                                 "description": None}))))
    reply = services.chat.send(ALICE, ChatRequest(message="make one"))
    assert (reply.metadata.stopped, reply.function_calls, tickets(dynamodb)) == ("max_tool_steps", [], [])
    assert reply.message == "I stopped after 1 step, before doing anything; ask again to continue."


def test_a_provider_failing_after_tools_ran_answers_200_with_what_was_done_charged_for_the_calls_that_answered(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, LLM_MAX_RETRIES=0)
    provider.answer_next(asks_for(("create_ticket", json.dumps({"title": "t", "priority": "low",
                                                                 "description": None}))))

    def second_call_fails() -> None:
        if len(provider.history) == 2:
            raise ProviderError("The model provider failed; try again.")

    provider.before_reply = second_call_fails
    reply = services.chat.send(ALICE, ChatRequest(message="make one"))
    assert reply.metadata.stopped == "provider_error"
    assert [c.name for c in reply.function_calls] == ["create_ticket"] and len(tickets(dynamodb)) == 1
    assert reply.metadata.cost_cents > 0
    assert_invariant(dynamodb, "ai-chat")


# --- bad tool behaviour: an error the model can act on, never a 500 ------------------------------------------------


@pytest.mark.parametrize(("name", "arguments", "says"), [
    ("create_ticket", "{not json", "JSON"),
    ("create_ticket", json.dumps([1, 2]), "object"),
    ("create_ticket", json.dumps({"title": "", "priority": "soon", "description": None}), "priority"),
    ("create_ticket", json.dumps({"title": "x", "priority": "low", "description": None, "tenant_id": "globex"}),
     "tenant_id"),
    ("drop_tables", "{}", "no tool named"),
    ("create_ticket", json.dumps({"title": "x" * 9000, "priority": "low", "description": None}), "8"),
])
def test_a_bad_tool_call_is_an_error_call_in_a_200_and_an_error_result_for_the_model(
        api: Api, dynamodb: Any, provider: ScriptedProvider, name: str, arguments: str, says: str) -> None:
    provider.answer_next(asks_for((name, arguments)))
    reply = api.chat("do something")
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    assert call["status"] == "error" and says in call["result"]["error"]
    assert "Traceback" not in json.dumps(reply.body) and "aichat." not in call["result"]["error"]
    (result,) = provider.history[1].messages[-1].tool_results
    assert result.is_error and json.loads(result.content) == call["result"]
    assert tickets(dynamodb) == [], "arguments naming another tenant change nothing"
    assert_invariant(dynamodb, "ai-chat")


def test_a_tool_that_raises_is_an_error_without_its_text(api: Api, provider: ScriptedProvider,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from aichat.table.tickets import TicketStore

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret table arn:aws:dynamodb:us-east-1:1234:table/ai-chat")

    monkeypatch.setattr(TicketStore, "create", broken)
    reply = api.chat(TICKET)
    assert reply.status == 200
    (call,) = reply.body["function_calls"]
    assert call["status"] == "error" and "arn:aws" not in json.dumps(reply.body)


def test_two_calls_in_one_step_both_run_in_order_and_both_results_go_back(
        api: Api, dynamodb: Any, provider: ScriptedProvider) -> None:
    first = json.dumps({"title": "one", "priority": "low", "description": None})
    second = json.dumps({"title": "two", "priority": "high", "description": "d"})
    provider.answer_next(asks_for(("create_ticket", first), ("create_ticket", second)))
    reply = api.chat("two please")
    assert [c["arguments"]["title"] for c in reply.body["function_calls"]] == ["one", "two"]
    results = provider.history[1].messages[-1].tool_results
    assert [r.call_id for r in results] == [c["id"] for c in reply.body["function_calls"]]
    assert sorted(t["title"]["S"] for t in tickets(dynamodb)) == ["one", "two"]


def test_another_user_never_sees_a_ticket_result_through_history(api: Api) -> None:
    session_id = api.chat(TICKET).body["session_id"]
    assert api.invoke("get_history", session_id=session_id, user="user-2").status == 404
    assert api.invoke("get_history", session_id=session_id, tenant="globex").status == 404
