"""Tools through Bedrock's Converse API (toolConfig, toolUse and toolResult blocks), botocore's client against
tests/fake_bedrock.py: offered, asked for (whole and streamed), replayed, and a two-step turn through the real loop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bedrock_provider import bedrock_provider, bedrock_request
from conftest import Api
from fake_bedrock import FakeBedrock, Reply
from ledger_invariant import assert_invariant
from test_bedrock_chat import metadata_of, streamed, text_of

from aichat import wiring
from aichat.providers.interface import (
    Completion,
    StreamPart,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    ToolSpec,
    Turn,
)

TICKET = ToolSpec(name="create_ticket", description="Open a support ticket.",
                  parameters={"type": "object", "additionalProperties": False, "required": ["title"],
                              "properties": {"title": {"type": "string"}}})
FIRST = {"title": "Router blinks red", "priority": "urgent"}
SECOND = {"reason": "The user asked for a person."}
TWO_CALLS = [("tooluse_1", "create_ticket", FIRST), ("tooluse_2", "escalate_to_human", SECOND)]


def calls_of(completion: Completion) -> list[tuple[str, str, Any]]:
    return [(c.id, c.name, json.loads(c.arguments)) for c in completion.tool_calls]


# --- offered


def test_the_tools_go_in_tool_config_as_tool_specs_with_the_json_schema_as_given(fake_bedrock: FakeBedrock) -> None:
    bedrock_provider(fake_bedrock).complete(bedrock_request(tools=(TICKET,)))
    assert fake_bedrock.sent()[0]["toolConfig"] == {"tools": [{"toolSpec": {
        "name": "create_ticket", "description": "Open a support ticket.",
        "inputSchema": {"json": dict(TICKET.parameters)}}}]}


def test_no_tool_config_is_sent_when_no_tool_is_offered(fake_bedrock: FakeBedrock) -> None:
    bedrock_provider(fake_bedrock).complete(bedrock_request())
    assert "toolConfig" not in fake_bedrock.sent()[0]


# --- asked for


def test_two_tool_calls_in_one_answer_are_parsed_in_order_with_the_text_beside_them(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(text="Opening a ticket.", tool_calls=TWO_CALLS))
    completion = bedrock_provider(fake_bedrock).complete(bedrock_request(tools=(TICKET,)))
    assert completion.text == "Opening a ticket." and completion.stop_reason == "tool_use"
    assert calls_of(completion) == [(i, n, a) for i, n, a in TWO_CALLS]


def test_streamed_tool_input_is_yielded_piece_by_piece_and_assembled_into_the_calls_in_their_order(
        fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(text="Opening a ticket.", tool_calls=TWO_CALLS))
    parts: list[StreamPart] = list(bedrock_provider(fake_bedrock).stream(bedrock_request(tools=(TICKET,))))
    *pieces, completion = parts
    assert isinstance(completion, Completion)
    assert "".join(p.text for p in pieces if isinstance(p, TextDelta)) == completion.text == "Opening a ticket."
    arguments = [p for p in pieces if isinstance(p, ToolCallDelta)]
    assert len(arguments) == 6, "three pieces of input per call, as the fake streams them"
    for index, (_, _, sent) in enumerate(TWO_CALLS):
        assert "".join(p.arguments for p in arguments if p.index == index) == json.dumps(sent)
    assert pieces.index(arguments[0]) > max(i for i, p in enumerate(pieces) if isinstance(p, TextDelta))
    assert calls_of(completion) == [(i, n, a) for i, n, a in TWO_CALLS]
    assert completion.stop_reason == "tool_use"


def test_a_streamed_tool_call_whose_input_is_not_json_is_an_unreadable_answer(fake_bedrock: FakeBedrock) -> None:
    from fake_bedrock import event

    fake_bedrock.enqueue(Reply(raw=b"".join([
        event("messageStart", {"role": "assistant"}),
        event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1",
                                                                                  "name": "create_ticket"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"title": '}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
                           "metrics": {"latencyMs": 1}})])))
    from aichat.core.errors import ProviderError

    with pytest.raises(ProviderError) as raised:
        list(bedrock_provider(fake_bedrock).stream(bedrock_request(tools=(TICKET,))))
    assert raised.value.status == 502 and not raised.value.transient


# --- replayed


def test_a_replayed_tool_turn_is_tool_use_blocks_then_a_user_message_of_tool_results_merged_with_the_next_words(
        fake_bedrock: FakeBedrock) -> None:
    long_id = "call_" + "x" * 80  # another provider's id that Converse would refuse
    turns = (Turn("user", "My router blinks red, open a ticket"),
             Turn("assistant", "Opening one.", tool_calls=(ToolCall("call_1", "create_ticket", json.dumps(FIRST)),
                                                           ToolCall(long_id, "escalate_to_human", "[1, 2]"))),
             Turn("tool", "", tool_results=(ToolResult("call_1", '{"id": "T-1", "status": "open"}'),
                                            ToolResult(long_id, '{"error": "refused"}', is_error=True))),
             Turn("assistant", "Ticket T-1 is open."), Turn("user", "Thanks"))
    bedrock_provider(fake_bedrock).complete(bedrock_request(messages=turns, tools=(TICKET,)))
    messages = fake_bedrock.sent()[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    text, first, second = messages[1]["content"]
    assert text == {"text": "Opening one."}
    assert first == {"toolUse": {"toolUseId": "call_1", "name": "create_ticket", "input": FIRST}}
    mapped = second["toolUse"]["toolUseId"]
    assert mapped != long_id and len(mapped) <= 64 and second["toolUse"]["input"] == {}, "not an object: {}"
    assert messages[2]["content"] == [
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": '{"id": "T-1", "status": "open"}'}],
                        "status": "success"}},
        {"toolResult": {"toolUseId": mapped, "content": [{"text": '{"error": "refused"}'}], "status": "error"}}]


def test_results_and_the_users_next_words_share_one_user_message_when_no_reply_came_between(
        fake_bedrock: FakeBedrock) -> None:
    turns = (Turn("user", "Open a ticket"),
             Turn("assistant", "", tool_calls=(ToolCall("c1", "create_ticket", json.dumps(FIRST)),)),
             Turn("tool", "", tool_results=(ToolResult("c1", '{"id": "T-1"}'),)), Turn("user", "And?"))
    bedrock_provider(fake_bedrock).complete(bedrock_request(messages=turns, tools=(TICKET,)))
    messages = fake_bedrock.sent()[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [{"toolUse": {"toolUseId": "c1", "name": "create_ticket", "input": FIRST}}]
    assert [list(block) for block in messages[2]["content"]] == [["toolResult"], ["text"]]


# --- through the turn loop


def test_a_two_step_tool_turn_through_post_chat_creates_the_ticket_and_sends_its_result_back_paired(
        bedrock_api: Api, fake_bedrock: FakeBedrock, dynamodb: Any) -> None:
    arguments = {"title": "Line drops", "priority": "urgent", "description": None}
    fake_bedrock.enqueue(Reply(tool_calls=[("tooluse_a1", "create_ticket", arguments)]),
                         Reply(text="Ticket opened."))
    reply = bedrock_api.chat("My line drops, open a ticket")
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    assert (call["name"], call["status"], call["arguments"]) == ("create_ticket", "ok", arguments)
    assert reply.body["message"] == "Ticket opened."
    first, second = fake_bedrock.sent()
    assert "toolConfig" in first and "toolConfig" in second
    assert second["messages"][1] == {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "tooluse_a1", "name": "create_ticket", "input": arguments}}]}
    (result,) = second["messages"][2]["content"]
    assert result["toolResult"]["toolUseId"] == "tooluse_a1" and result["toolResult"]["status"] == "success"
    assert json.loads(result["toolResult"]["content"][0]["text"])["id"] == call["result"]["id"]
    assert_invariant(dynamodb, "ai-chat")


def test_a_streamed_step_with_two_tool_calls_runs_both_and_the_answer_streams_in_the_next_step(
        bedrock_services: wiring.Services, fake_bedrock: FakeBedrock, dynamodb: Any) -> None:
    ticket = {"title": "Line drops", "priority": "urgent", "description": None}
    other = {"title": "Router blinks", "priority": "normal", "description": None}
    fake_bedrock.enqueue(Reply(tool_calls=[("tooluse_1", "create_ticket", ticket),
                                           ("tooluse_2", "create_ticket", other)]),
                         Reply(deltas=["Two ", "tickets ", "opened."]))
    parts = streamed(bedrock_services, "My line drops and my router blinks, open tickets")
    called = [p for p in parts if p["type"] == "tool-input-available"]
    assert [c["input"]["title"] for c in called] == ["Line drops", "Router blinks"]
    assert [p["type"] for p in parts].count("tool-output-available") == 2
    assert text_of(parts) == "Two tickets opened."
    assert metadata_of(parts)["estimated"] is False
    results = fake_bedrock.sent()[1]["messages"][2]["content"]
    assert [r["toolResult"]["toolUseId"] for r in results] == ["tooluse_1", "tooluse_2"]
    assert_invariant(dynamodb, "ai-chat")


# --- guardrails (optional) --------------------------------------------------------------------------------------------


def test_a_configured_guardrail_goes_with_every_converse_call_and_its_intervention_is_answered_and_charged(
        fake_bedrock: FakeBedrock) -> None:
    from fake_bedrock import Usage

    from aichat.core.pricing import Usage as Counted

    provider = bedrock_provider(fake_bedrock, BEDROCK_GUARDRAIL_ID="gr-abc123", BEDROCK_GUARDRAIL_VERSION="3")
    blocked = "Sorry, I can't help with that."
    fake_bedrock.enqueue(Reply(text=blocked, stop_reason="guardrail_intervened", usage=Usage(input=30, output=0)),
                         Reply(deltas=["Sorry, ", "no."], stop_reason="guardrail_intervened"))
    whole = provider.complete(bedrock_request())
    *_, streamed = provider.stream(bedrock_request())
    assert [body["guardrailConfig"] for body in fake_bedrock.sent()] == [
        {"guardrailIdentifier": "gr-abc123", "guardrailVersion": "3"}] * 2
    assert (whole.text, whole.stop_reason, whole.usage) == (blocked, "guardrail_intervened", Counted(30, 0))
    assert isinstance(streamed, Completion) and streamed.stop_reason == "guardrail_intervened"
    assert streamed.text == "Sorry, no."


def test_without_a_guardrail_no_guardrail_config_is_sent(fake_bedrock: FakeBedrock) -> None:
    bedrock_provider(fake_bedrock).complete(bedrock_request())
    assert "guardrailConfig" not in fake_bedrock.sent()[0]


def test_a_guardrails_intervention_ends_the_turn_marked_guardrail_intervened_whole_and_streamed_charged_as_reported(
        bedrock_api: Api, bedrock_services: wiring.Services, fake_bedrock: FakeBedrock, dynamodb: Any) -> None:
    from fake_bedrock import Usage

    blocked = "Sorry, I can't help with that."
    fake_bedrock.enqueue(Reply(text=blocked, stop_reason="guardrail_intervened", usage=Usage(input=30, output=7)),
                         Reply(deltas=["I was saying ", "that"], stop_reason="guardrail_intervened"))
    reply = bedrock_api.chat("Tell me something I should not hear")
    assert reply.status == 200, reply.body
    metadata = reply.body["metadata"]
    assert (reply.body["message"], metadata["stopped"]) == (blocked, "guardrail_intervened")
    assert metadata["input_tokens"] == 30 and metadata["cost_cents"] > 0
    parts = streamed(bedrock_services, "And again, streamed")
    # The text already shown stays (it is what the guardrail let through), and the turn says how it ended.
    assert text_of(parts) == "I was saying that"
    assert {"type": "data-ending", "data": {"code": "guardrail_intervened"}} in parts
    assert parts[-1] == {"type": "finish", "finishReason": "content-filter"}
    assert metadata_of(parts)["stopped"] == "guardrail_intervened"
    assert_invariant(dynamodb, "ai-chat")
