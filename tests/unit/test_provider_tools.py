"""Function calling ("tools") through each adapter: what goes on the wire, what comes back, and the offline model.

OpenAI and Anthropic run through their real SDKs against tests/fake_providers.py (127.0.0.1 only).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from fake_providers import FakeProviders, Scripted
from sdk_providers import real_provider

from aichat.core.errors import ProviderError
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    Provider,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    ToolSpec,
    Turn,
)
from aichat.providers.offline import OfflineProvider

TICKET = ToolSpec(
    name="create_ticket", description="Open a support ticket for the user's problem.",
    parameters={"type": "object", "additionalProperties": False, "required": ["title", "priority", "description"],
                "properties": {"title": {"type": "string"},
                               "priority": {"type": "string", "enum": ["normal", "urgent"]},
                               "description": {"type": ["string", "null"]}}},
)
ESCALATE = ToolSpec(
    name="escalate_to_human", description="Hand the conversation to a person.",
    parameters={"type": "object", "additionalProperties": False, "required": ["reason"],
                "properties": {"reason": {"type": "string"}}},
)
TOOLS = (TICKET, ESCALATE)
ARGS = {"title": "Router keeps rebooting", "priority": "urgent", "description": None}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
APIS = ["openai", "anthropic"]
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def build(api: str, fake: FakeProviders) -> Provider:
    return real_provider(api, fake)


def request(api: str, *turns: Turn, tools: tuple[ToolSpec, ...] = TOOLS) -> CompletionRequest:
    return CompletionRequest(model=MODELS[api], system="You are a support assistant.", max_tokens=200,
                             temperature=None, tools=tools,
                             messages=turns or (Turn("user", "My router keeps rebooting; please open a ticket."),))


def continued(req: CompletionRequest, answer: Completion, *results: ToolResult) -> CompletionRequest:
    """The request after the model's calls ran: its assistant turn and the tool turn appended, as the chat loop does."""
    return CompletionRequest(
        model=req.model, system=req.system, max_tokens=req.max_tokens, temperature=req.temperature, tools=req.tools,
        messages=(*req.messages, Turn("assistant", answer.text, tool_calls=answer.tool_calls),
                  Turn("tool", "", tool_results=results)))


def assert_openai_calls_are_answered(messages: list[dict[str, Any]]) -> None:
    """Every assistant tool_calls message is followed at once by one tool message per call, in order, and every tool
    message answers a call of that assistant message."""
    index = 0
    while index < len(messages):
        message = messages[index]
        assert message["role"] != "tool", f"a tool message with no assistant tool_calls before it: {message}"
        index += 1
        if message["role"] == "assistant" and message.get("tool_calls"):
            ids = [call["id"] for call in message["tool_calls"]]
            answers = messages[index:index + len(ids)]
            assert [(m["role"], m["tool_call_id"]) for m in answers] == [("tool", i) for i in ids]
            index += len(ids)


def assert_anthropic_conversation(messages: list[dict[str, Any]]) -> None:
    """Roles alternate from a user message; each tool_use is answered first thing in the next (user) message."""
    assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2) + ["user"] * (
        len(messages) % 2)
    for message, following in itertools.pairwise(messages):
        content = message["content"]
        uses = [b["id"] for b in content if b["type"] == "tool_use"] if isinstance(content, list) else []
        if uses:
            assert all(ANTHROPIC_ID.match(i) for i in uses)
            blocks = following["content"]
            assert [(b["type"], b["tool_use_id"]) for b in blocks[:len(uses)]] == [("tool_result", i) for i in uses]


# --- a two-step turn, for each provider -------------------------------------------------------------------------------


def test_openai_asks_for_a_tool_then_gets_the_result_paired_with_its_call_and_answers(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(tool_calls=[("call_abc123", "create_ticket", ARGS)]),
                 Scripted(text="Ticket T-1 is open."))
    provider, first_request = build("openai", fake), request("openai")
    asked = provider.complete(first_request)
    assert asked.tool_calls == (ToolCall("call_abc123", "create_ticket", json.dumps(ARGS)),)
    assert (asked.text, asked.stop_reason) == ("", "tool_calls")

    answer = provider.complete(continued(first_request, asked, ToolResult("call_abc123", '{"id": "T-1"}')))
    assert (answer.text, answer.tool_calls, answer.stop_reason) == ("Ticket T-1 is open.", (), "stop")
    second = fake.sent("openai")[1]["messages"]
    assert second[-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc123", "type": "function",
             "function": {"name": "create_ticket", "arguments": json.dumps(ARGS)}}]},
        {"role": "tool", "tool_call_id": "call_abc123", "content": '{"id": "T-1"}'},
    ]
    assert_openai_calls_are_answered(second)


def test_anthropic_asks_for_a_tool_then_gets_the_result_in_a_user_message_and_answers(fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(tool_calls=[("toolu_01AbC", "create_ticket", ARGS)], text="Opening one."),
                 Scripted(text="Ticket T-1 is open."))
    provider, first_request = build("anthropic", fake), request("anthropic")
    asked = provider.complete(first_request)
    assert asked.tool_calls == (ToolCall("toolu_01AbC", "create_ticket", json.dumps(ARGS)),)
    assert (asked.text, asked.stop_reason) == ("Opening one.", "tool_use")

    answer = provider.complete(continued(first_request, asked, ToolResult("toolu_01AbC", '{"id": "T-1"}')))
    assert (answer.text, answer.tool_calls, answer.stop_reason) == ("Ticket T-1 is open.", (), "end_turn")
    second = fake.sent("anthropic")[1]["messages"]
    assert second[-2:] == [
        {"role": "assistant", "content": [
            {"type": "text", "text": "Opening one."},
            {"type": "tool_use", "id": "toolu_01AbC", "name": "create_ticket", "input": ARGS}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01AbC", "content": '{"id": "T-1"}', "is_error": False}]},
    ]
    assert_anthropic_conversation(second)


# --- two calls in one step --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_two_calls_in_one_step_are_parsed_in_order_and_both_results_go_back_paired(
        api: Any, fake: FakeProviders) -> None:
    reason = {"reason": "The user asked for a person."}
    fake.enqueue(api, Scripted(tool_calls=[("call_1", "create_ticket", ARGS), ("call_2", "escalate_to_human", reason)]))
    provider, first_request = build(api, fake), request(api)
    asked = provider.complete(first_request)
    assert asked.tool_calls == (ToolCall("call_1", "create_ticket", json.dumps(ARGS)),
                                ToolCall("call_2", "escalate_to_human", json.dumps(reason)))

    provider.complete(continued(first_request, asked, ToolResult("call_1", '{"id": "T-1"}'),
                                ToolResult("call_2", '{"error": "nobody is on duty"}', is_error=True)))
    second = fake.sent(api)[1]["messages"]
    if api == "openai":
        assert [m["tool_call_id"] for m in second[-2:]] == ["call_1", "call_2"]
        assert [m["content"] for m in second[-2:]] == ['{"id": "T-1"}', '{"error": "nobody is on duty"}']
        assert_openai_calls_are_answered(second)
    else:
        results = second[-1]["content"]
        assert second[-1]["role"] == "user"
        assert [(b["tool_use_id"], b["is_error"]) for b in results] == [("call_1", False), ("call_2", True)]
        assert [b["id"] for b in second[-2]["content"]] == ["call_1", "call_2"]
        assert_anthropic_conversation(second)


# --- history reloaded ----------------------------------------------------------------------------------------------


def reloaded_history() -> tuple[Turn, ...]:
    call = ToolCall("call_7Xq", "create_ticket", json.dumps(ARGS))
    return (
        Turn("user", "My router keeps rebooting, please create a ticket."),
        Turn("assistant", "I will open a ticket.", tool_calls=(call,)),
        Turn("tool", "", tool_results=(ToolResult("call_7Xq", '{"id": "T-1"}'),)),
        Turn("assistant", "Ticket T-1 is open."),
        Turn("user", "Thanks. And my wifi is slow."),
    )


def test_openai_gets_a_reloaded_conversation_with_every_tool_message_after_its_call(fake: FakeProviders) -> None:
    build("openai", fake).complete(request("openai", *reloaded_history()))
    (sent,) = fake.sent("openai")
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent["messages"][2]["content"] == "I will open a ticket."
    assert_openai_calls_are_answered(sent["messages"])


def test_anthropic_gets_a_reloaded_conversation_with_alternating_roles(fake: FakeProviders) -> None:
    build("anthropic", fake).complete(request("anthropic", *reloaded_history()))
    (sent,) = fake.sent("anthropic")
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert sent["messages"][-1] == {"role": "user", "content": "Thanks. And my wifi is slow."}
    assert_anthropic_conversation(sent["messages"])


def test_anthropic_merges_tool_results_and_the_users_next_words_into_one_user_message(fake: FakeProviders) -> None:
    history = reloaded_history()
    # The turn ended after the tool ran (no final answer was kept), and the user wrote again.
    build("anthropic", fake).complete(request("anthropic", *history[:3], history[4]))
    (sent,) = fake.sent("anthropic")
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_7Xq", "content": '{"id": "T-1"}', "is_error": False},
        {"type": "text", "text": "Thanks. And my wifi is slow."},
    ]
    assert_anthropic_conversation(sent["messages"])


# --- tool definitions -------------------------------------------------------------------------------------------------


def test_openai_gets_the_tools_as_strict_functions_with_the_parameters_as_given(fake: FakeProviders) -> None:
    build("openai", fake).complete(request("openai"))
    (sent,) = fake.sent("openai")
    assert sent["tools"] == [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters, "strict": True}}
                             for t in TOOLS]
    assert "tool_choice" not in sent and "parallel_tool_calls" not in sent


def test_anthropic_gets_the_tools_with_their_parameters_as_input_schema(fake: FakeProviders) -> None:
    build("anthropic", fake).complete(request("anthropic"))
    (sent,) = fake.sent("anthropic")
    assert sent["tools"] == [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                             for t in TOOLS]
    assert "tool_choice" not in sent


@pytest.mark.parametrize("api", APIS)
def test_no_tools_are_sent_when_none_are_offered(api: Any, fake: FakeProviders) -> None:
    build(api, fake).complete(request(api, tools=()))
    (sent,) = fake.sent(api)
    assert "tools" not in sent and "tool_choice" not in sent


# --- ids from the other provider ------------------------------------------------------------------------------------


@pytest.mark.parametrize("foreign", ["call.abc/123 x", "fc:" + "9" * 70, ""])
def test_an_id_anthropic_would_refuse_is_mapped_the_same_way_for_the_call_and_its_result(
        foreign: str, fake: FakeProviders) -> None:
    history = (Turn("user", "please create a ticket"),
               Turn("assistant", "", tool_calls=(ToolCall(foreign, "create_ticket", json.dumps(ARGS)),)),
               Turn("tool", "", tool_results=(ToolResult(foreign, '{"id": "T-1"}'),)))
    provider = build("anthropic", fake)
    provider.complete(request("anthropic", *history))
    provider.complete(request("anthropic", *history))
    first, again = (body["messages"] for body in fake.sent("anthropic"))
    (use,) = first[1]["content"]
    (result,) = first[2]["content"]
    assert use["id"] != foreign and ANTHROPIC_ID.match(use["id"]) and len(use["id"]) <= 64
    assert result["tool_use_id"] == use["id"]
    assert again == first, "the mapping is deterministic"
    assert_anthropic_conversation(first)


def test_an_id_longer_than_openai_accepts_is_mapped_the_same_way_for_the_call_and_its_result(
        fake: FakeProviders) -> None:
    foreign = "toolu_" + "A" * 60
    history = (Turn("user", "please create a ticket"),
               Turn("assistant", "", tool_calls=(ToolCall(foreign, "create_ticket", json.dumps(ARGS)),)),
               Turn("tool", "", tool_results=(ToolResult(foreign, '{"id": "T-1"}'),)))
    build("openai", fake).complete(request("openai", *history))
    (sent,) = fake.sent("openai")
    (call,) = sent["messages"][2]["tool_calls"]
    assert call["id"] != foreign and len(call["id"]) <= 40
    assert sent["messages"][3]["tool_call_id"] == call["id"]


def test_anthropic_gets_an_empty_input_for_arguments_that_are_not_a_json_object(fake: FakeProviders) -> None:
    history = (Turn("user", "please create a ticket"),
               Turn("assistant", "", tool_calls=(ToolCall("toolu_1", "create_ticket", "[1, 2"),
                                                 ToolCall("toolu_2", "create_ticket", '"text"'))),
               Turn("tool", "", tool_results=(ToolResult("toolu_1", '{"error": "bad arguments"}', is_error=True),
                                              ToolResult("toolu_2", '{"error": "bad arguments"}', is_error=True))))
    build("anthropic", fake).complete(request("anthropic", *history))
    (sent,) = fake.sent("anthropic")
    assert [b["input"] for b in sent["messages"][1]["content"]] == [{}, {}]


# --- malformed tool calls ---------------------------------------------------------------------------------------------


def openai_body(tool_calls: list[Any]) -> bytes:
    return json.dumps({
        "id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": None, "tool_calls": tool_calls}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }).encode()


def anthropic_body(content: list[Any]) -> bytes:
    return json.dumps({
        "id": "msg_x", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": content,
        "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5},
    }).encode()


MALFORMED = [
    ("openai", openai_body([{"id": "call_1", "type": "function", "function": {"name": "create_ticket",
                                                                              "arguments": {"title": "x"}}}])),
    ("openai", openai_body([{"id": "call_1", "type": "function", "function": {"arguments": "{}"}}])),
    ("openai", openai_body([{"id": "call_1", "type": "function"}])),
    ("openai", openai_body([{"type": "function", "function": {"name": "create_ticket", "arguments": "{}"}}])),
    ("openai", openai_body("call_1")),  # type: ignore[arg-type]
    ("anthropic", anthropic_body([{"type": "tool_use", "id": "toolu_1", "input": {}}])),
    ("anthropic", anthropic_body([{"type": "tool_use", "id": "toolu_1", "name": "create_ticket", "input": "{}"}])),
    ("anthropic", anthropic_body([{"type": "tool_use", "name": "create_ticket", "input": {}}])),
]


@pytest.mark.parametrize(("api", "raw"), MALFORMED)
def test_a_malformed_tool_call_is_the_same_502_as_any_malformed_answer(
        api: Any, raw: bytes, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(raw=raw))
    with pytest.raises(ProviderError) as raised:
        build(api, fake).complete(request(api))
    assert not raised.value.transient and raised.value.status == 502
    assert "could not be read" in raised.value.detail


def test_openai_arguments_are_kept_as_the_model_wrote_them_even_when_not_valid_json(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(tool_calls=[("call_1", "create_ticket", '{"title": "x"')]))
    (call,) = build("openai", fake).complete(request("openai")).tool_calls
    assert call.arguments == '{"title": "x"', "the chat loop decides what to do with arguments it cannot read"


def test_openai_a_kind_of_tool_call_never_offered_is_left_out(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(raw=openai_body([
        {"id": "call_c", "type": "custom", "custom": {"name": "grammar", "input": "x"}},
        {"id": "call_f", "type": "function", "function": {"name": "create_ticket", "arguments": "{}"}}])))
    completion = build("openai", fake).complete(request("openai"))
    assert completion.tool_calls == (ToolCall("call_f", "create_ticket", "{}"),)


# --- the offline model ----------------------------------------------------------------------------------------------


def offline_request(*turns: Turn, tools: tuple[ToolSpec, ...] = TOOLS, max_tokens: int = 500) -> CompletionRequest:
    return CompletionRequest(model="offline-1", system="You are a support assistant.", max_tokens=max_tokens,
                             temperature=None, tools=tools, messages=turns)


def offline(text: str, **options: Any) -> Completion:
    return OfflineProvider().complete(offline_request(Turn("user", text), **options))


def test_offline_create_a_ticket_calls_create_ticket_with_the_words_after_it_as_title_and_urgent_priority() -> None:
    answer = offline("Please create a ticket: Router keeps rebooting, URGENT")
    (call,) = answer.tool_calls
    assert call.name == "create_ticket" and call.id.startswith("call_") and ANTHROPIC_ID.match(call.id)
    assert json.loads(call.arguments) == {"title": "Router keeps rebooting, URGENT", "priority": "urgent",
                                          "description": None}
    assert (answer.text, answer.stop_reason) == ("", "tool_calls")
    assert answer.usage.output_tokens > 0


def test_offline_streams_a_tool_calls_arguments_piece_by_piece_before_the_completion_that_holds_the_call() -> None:
    *pieces, answer = OfflineProvider().stream(offline_request(Turn("user", "Please create a ticket: no dial tone")))
    assert isinstance(answer, Completion)
    (call,) = answer.tool_calls
    assert len(pieces) > 1 and all(isinstance(p, ToolCallDelta) and p.index == 0 and p.arguments for p in pieces)
    assert "".join(p.arguments for p in pieces if isinstance(p, ToolCallDelta)) == call.arguments
    assert not any(isinstance(p, TextDelta) for p in pieces)


def test_offline_create_a_ticket_alone_is_a_normal_support_request() -> None:
    (call,) = offline("CREATE A TICKET").tool_calls
    assert json.loads(call.arguments) == {"title": "Support request", "priority": "normal", "description": None}
    (call,) = offline("create a ticket -  ").tool_calls
    assert json.loads(call.arguments)["title"] == "Support request"


def test_offline_ticket_titles_are_cut_to_200_characters() -> None:
    (call,) = offline("create a ticket: " + "x" * 300).tool_calls
    assert json.loads(call.arguments)["title"] == "x" * 200


def test_offline_without_tools_offered_gives_the_plain_reply_as_before() -> None:
    answer = offline("Please create a ticket: Router keeps rebooting", tools=())
    assert answer.tool_calls == () and answer.stop_reason == "end_turn"
    said = "Please create a ticket: Router keeps rebooting"
    assert answer.text.startswith(f"(offline model) You said: \u201c{said}\u201d")
    plain = offline("Hello there")
    assert plain.tool_calls == () and plain.text.startswith("(offline model) You said: \u201cHello there\u201d")


def test_offline_only_calls_a_tool_that_is_offered() -> None:
    assert offline("create a ticket: x", tools=(ESCALATE,)).tool_calls == ()
    assert offline("I want to talk to a person", tools=(TICKET,)).tool_calls == ()


def test_offline_talk_to_a_person_escalates_with_the_whole_message_as_the_reason() -> None:
    answer = offline("I want to Talk To A Person now")
    (call,) = answer.tool_calls
    assert call.name == "escalate_to_human"
    assert json.loads(call.arguments) == {"reason": "I want to Talk To A Person now"}
    (long_call,) = offline("talk to a person " + "y" * 600).tool_calls
    assert len(json.loads(long_call.arguments)["reason"]) == 500


def test_offline_answers_a_ticket_result_with_the_ticket_it_created() -> None:
    provider = OfflineProvider()
    ask = Turn("user", "Please create a ticket: Router keeps rebooting, URGENT")
    asked = provider.complete(offline_request(ask))
    (call,) = asked.tool_calls
    answer = provider.complete(offline_request(
        ask, Turn("assistant", asked.text, tool_calls=asked.tool_calls),
        Turn("tool", "", tool_results=(ToolResult(call.id, '{"id": "T-42", "status": "open"}'),))))
    assert answer.text == "Ticket created: Router keeps rebooting, URGENT (urgent), id T-42."
    assert (answer.tool_calls, answer.stop_reason) == ((), "end_turn")


def test_offline_reports_a_failed_call_with_its_error_message() -> None:
    call = ToolCall("call_1", "create_ticket", json.dumps(ARGS))
    answer = OfflineProvider().complete(offline_request(
        Turn("user", "create a ticket"), Turn("assistant", "", tool_calls=(call,)),
        Turn("tool", "", tool_results=(ToolResult("call_1", '{"error": "The ticket system is down"}', True),))))
    assert answer.text == "The create_ticket call failed: The ticket system is down."


def test_offline_is_deterministic_and_its_call_ids_depend_on_model_and_message() -> None:
    first, second = offline("create a ticket: printer"), offline("create a ticket: printer")
    assert first == second
    assert offline("create a ticket: scanner").tool_calls[0].id != first.tool_calls[0].id
    other_model = CompletionRequest(model="offline-2", system="s", max_tokens=500, temperature=None, tools=TOOLS,
                                    messages=(Turn("user", "create a ticket: printer"),))
    assert OfflineProvider().complete(other_model).tool_calls[0].id != first.tool_calls[0].id


def test_offline_a_call_that_does_not_fit_max_tokens_is_cut_off_like_a_real_model() -> None:
    answer = offline("create a ticket: " + "word " * 50, max_tokens=5)
    assert (answer.tool_calls, answer.text, answer.stop_reason) == ((), "", "max_tokens")
    assert answer.usage.output_tokens <= 5


def test_offline_input_tokens_stay_within_the_requests_bound_with_tools_calls_and_results() -> None:
    call = ToolCall("call_ü" * 3, "create_ticket", json.dumps({"title": "naïve café ¿Qué?" * 20, "priority": "urgent",
                                                                 "description": None}, ensure_ascii=False))
    req = offline_request(
        Turn("user", "create a ticket: naïve café ¿Qué tal? " * 10), Turn("assistant", "", tool_calls=(call,)),
        Turn("tool", "", tool_results=(ToolResult(call.id, '{"id": "T-1", "note": "🙂 ok"}' * 5),)),
        Turn("assistant", "Done."), Turn("user", "And talk to a person please " * 5),
        tools=(TICKET, ESCALATE, ToolSpec("lookup", "Read «orders» — any", {"type": "object", "properties": {}})))
    completion = OfflineProvider().complete(req)
    assert completion.tool_calls[0].name == "escalate_to_human"
    assert 0 < completion.usage.input_tokens <= req.input_token_bound()
    without_tools = OfflineProvider().complete(offline_request(*req.messages, tools=()))
    assert without_tools.usage.input_tokens < completion.usage.input_tokens, "tool definitions are counted"
