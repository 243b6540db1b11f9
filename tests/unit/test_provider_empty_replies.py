"""A reply with no text in the conversation (an empty answer, a stop before the first token) is never sent to a
provider: left out, and for Anthropic the user's messages around it merged. Through the real SDKs against
tests/fake_providers.py, which refuses what Anthropic refuses (anthropic_rules)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from fake_providers import FakeProviders, anthropic_refusal
from sdk_providers import real_provider

from aichat.providers.interface import Completion, CompletionRequest, Provider, ToolCall, ToolResult, Turn

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
FIRST, SECOND, THIRD = "My router blinks red.", "Hello? Are you there?", "Still red."


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    """The loopback fake, refusing an Anthropic request as Anthropic would."""
    server = FakeProviders(anthropic_rules=True)
    yield server
    server.close()


def build(api: str, fake: FakeProviders) -> Provider:
    return real_provider(api, fake)


def answer(api: str, fake: FakeProviders, *turns: Turn, streamed: bool = False) -> Completion:
    """The provider's answer to a conversation of these turns, asked for whole or streamed."""
    request = CompletionRequest(model=MODELS[api], system="You are a support assistant.", max_tokens=64,
                                temperature=None, messages=turns)
    provider = build(api, fake)
    if not streamed:
        return provider.complete(request)
    *_, last = provider.stream(request)
    assert isinstance(last, Completion)
    return last


def text(*texts: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": t} for t in texts]


def sent_to_anthropic(fake: FakeProviders) -> list[dict[str, Any]]:
    """The messages of the one request Anthropic got, after checking Anthropic would take them."""
    (sent,) = fake.sent("anthropic")
    assert anthropic_refusal(sent) is None, anthropic_refusal(sent)
    roles = [m["role"] for m in sent["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), f"roles do not alternate: {roles}"
    messages: list[dict[str, Any]] = sent["messages"]
    return messages


# --- the fake refuses as Anthropic does -------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["", [], text(""), text(" \n ")])
def test_the_fake_refuses_an_empty_or_blank_assistant_message_that_is_not_last_as_anthropic_does(
        fake: FakeProviders, reply: Any) -> None:
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=fake.anthropic_url, max_retries=0)
    messages: Any = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": reply},
                     {"role": "user", "content": SECOND}]
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.1"):
        client.messages.create(model=MODELS["anthropic"], max_tokens=64, messages=messages)
    # The last message may be an empty assistant one (a prefill to continue from).
    client.messages.create(model=MODELS["anthropic"], max_tokens=64,
                           messages=[messages[0], {"role": "assistant", "content": ""}])


# --- Anthropic --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("reply", ["", " \n\t "])
def test_anthropic_leaves_out_an_empty_or_blank_reply_and_merges_the_users_messages_around_it(
        fake: FakeProviders, reply: str, streamed: bool) -> None:
    answered = answer("anthropic", fake, Turn("user", FIRST), Turn("assistant", reply), Turn("user", SECOND),
                      streamed=streamed)
    assert answered.text
    assert sent_to_anthropic(fake) == [{"role": "user", "content": text(FIRST, SECOND)}]


def test_anthropic_merges_every_user_message_across_empty_replies_and_keeps_the_replies_that_said_something(
        fake: FakeProviders) -> None:
    answer("anthropic", fake, Turn("user", FIRST), Turn("assistant", ""), Turn("user", SECOND), Turn("assistant", ""),
           Turn("user", THIRD), Turn("assistant", "Is the cable in?"), Turn("user", "Yes."))
    assert sent_to_anthropic(fake) == [{"role": "user", "content": text(FIRST, SECOND, THIRD)},
                                       {"role": "assistant", "content": "Is the cable in?"},
                                       {"role": "user", "content": "Yes."}]


def test_anthropic_sends_a_tool_step_without_its_blank_text_and_leaves_out_an_empty_reply_after_its_result(
        fake: FakeProviders) -> None:
    call = ToolCall("toolu_1", "line_status", '{"subscriber_id": "4411"}')
    answer("anthropic", fake, Turn("user", FIRST), Turn("assistant", "  ", tool_calls=(call,)),
           Turn("tool", "", tool_results=(ToolResult("toolu_1", '{"status": "down"}'),)),
           Turn("assistant", ""), Turn("user", SECOND))
    assert sent_to_anthropic(fake) == [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "line_status",
                                           "input": {"subscriber_id": "4411"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": '{"status": "down"}', "is_error": False}, *text(SECOND)]},
    ]


# --- OpenAI -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_openai_leaves_out_an_empty_reply_and_sends_the_users_messages_one_after_the_other(
        fake: FakeProviders, streamed: bool) -> None:
    answer("openai", fake, Turn("user", FIRST), Turn("assistant", ""), Turn("user", SECOND), streamed=streamed)
    (sent,) = fake.sent("openai")
    assert sent["messages"] == [{"role": "system", "content": "You are a support assistant."},
                                {"role": "user", "content": FIRST}, {"role": "user", "content": SECOND}]


def test_openai_still_sends_an_empty_reply_that_made_tool_calls_with_null_content(fake: FakeProviders) -> None:
    call = ToolCall("call_1", "line_status", '{"subscriber_id": "4411"}')
    answer("openai", fake, Turn("user", FIRST), Turn("assistant", "", tool_calls=(call,)),
           Turn("tool", "", tool_results=(ToolResult("call_1", '{"status": "down"}'),)))
    (sent,) = fake.sent("openai")
    assert [(m["role"], m.get("content")) for m in sent["messages"][1:]] == [
        ("user", FIRST), ("assistant", None), ("tool", '{"status": "down"}')]
