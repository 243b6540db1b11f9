"""aichat/api/ui_stream.py alone, over turns made up here: how a turn ends (on success, on failure) and that every part
is strict JSON, whatever numbers a tool call holds. What the AI SDK makes of such bodies is checked in
tests/contract/test_stream_sdk_reader.py."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from aichat.api import ui_stream
from aichat.core.errors import ProviderError
from aichat.core.models import TAKEN_BY_PERSON, ChatMetadata, ChatResponse
from aichat.turn.stream_events import ReplyText, StepFinished, StepStarted, ToolRan, TurnEvent, TurnStarted

STARTED = TurnStarted(session_id="S1", user_message_id="U1")


def strict(data: str) -> Any:
    """JSON as JSON.parse reads it: NaN and Infinity are not JSON."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(data, parse_constant=refuse)


def parts_of(body: bytes) -> list[dict[str, Any]]:
    """Every part of a whole body, read strictly; the body must end with [DONE]."""
    events = body.decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], events[-3:]
    return [strict(e.removeprefix("data: ")) for e in events[:-2]]


def answer(stopped: str | None = None, message: str = "Done.") -> ChatResponse:
    return ChatResponse(session_id="S1", message=message, metadata=ChatMetadata(
        tokens=3, input_tokens=2, output_tokens=1, cost_cents=0.01, model="m", provider="p", message_id="M1",
        stopped=stopped, estimated=stopped is not None))


def body_of(events: list[TurnEvent], end: ChatResponse | Exception) -> bytes:
    def turn() -> Generator[TurnEvent, None, ChatResponse]:
        yield from events
        if isinstance(end, Exception):
            raise end
        return end
    return b"".join(ui_stream.chunks(STARTED, turn()))


def kinds(parts: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in parts]


def test_an_answered_turn_ends_with_its_metadata_then_finish_and_no_error_part() -> None:
    parts = parts_of(body_of([StepStarted(1), ReplyText(1, "Done."), StepFinished(1)], answer()))
    assert kinds(parts)[-4:] == ["text-end", "finish-step", "message-metadata", "finish"]
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}


def test_a_turn_cut_by_its_provider_sends_the_code_and_the_stored_metadata_before_the_error_part() -> None:
    parts = parts_of(body_of([StepStarted(1), ReplyText(1, "Half"), StepFinished(1)],
                             answer("provider_error", "Half")))
    assert kinds(parts)[-6:] == ["text-end", "finish-step", "data-error", "message-metadata", "error", "finish"]
    data_error, metadata, error, finish = parts[-4:]
    assert data_error["data"] == {"code": "provider_error", "detail": error["errorText"], "session_id": "S1"}
    assert data_error["transient"] is True
    assert metadata["messageMetadata"]["message_id"] == "M1"
    assert finish == {"type": "finish", "finishReason": "error"}


def test_a_reply_kept_from_a_turn_that_failed_on_our_side_ends_as_a_failure_with_its_code_and_metadata() -> None:
    parts = parts_of(body_of([StepStarted(1), ReplyText(1, "Half"), StepFinished(1)],
                             answer("internal_error", "Half")))
    assert kinds(parts)[-4:] == ["data-error", "message-metadata", "error", "finish"]
    assert parts[-4]["data"]["code"] == "internal_error" and "provider" not in parts[-2]["errorText"]
    assert parts[-1]["finishReason"] == "error"


@pytest.mark.parametrize(("stopped", "reason"), [
    ("stopped", "other"), (TAKEN_BY_PERSON, "other"), ("escalated", "tool-calls"), ("max_tool_steps", "tool-calls"),
    ("guardrail_intervened", "content-filter"),
    ("session_cost_limit_exceeded", "tool-calls")])
def test_a_turn_ended_short_of_the_models_last_word_says_why_in_a_data_ending_part_and_is_no_error(
        stopped: str, reason: str) -> None:
    parts = parts_of(body_of([StepStarted(1), StepFinished(1)], answer(stopped, "What was done.")))
    assert kinds(parts)[-3:] == ["data-ending", "message-metadata", "finish"] and "error" not in kinds(parts)
    assert parts[-3]["data"] == {"code": stopped}
    assert "data-error" not in kinds(parts) and parts[-1]["finishReason"] == reason


def test_a_turn_that_raised_sends_its_code_then_the_error_and_no_metadata_as_nothing_was_stored() -> None:
    parts = parts_of(body_of([StepStarted(1)], ProviderError("The model provider failed (HTTP 500).")))
    assert kinds(parts) == ["start", "start-step", "finish-step", "data-error", "error", "finish"]
    assert parts[3]["data"]["code"] == "provider_error" and parts[4]["errorText"] == parts[3]["data"]["detail"]


def test_a_turn_that_raised_something_unexpected_sends_internal_error_without_its_details() -> None:
    parts = parts_of(body_of([StepStarted(1)], KeyError("secret internal name")))
    assert kinds(parts)[-3:] == ["data-error", "error", "finish"]
    assert parts[-3]["data"]["code"] == "internal_error" and "secret" not in json.dumps(parts)


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_every_part_is_strict_json_and_a_non_finite_number_goes_out_as_null(number: float) -> None:
    part = {"type": "tool-output-available", "toolCallId": "c1", "output": {"n": number, "rows": [1.5, (number,)]}}
    data = ui_stream.sse(part).decode()
    assert data.startswith("data: ") and data.endswith("\n\n")
    assert strict(data.removeprefix("data: ")) == {**part, "output": {"n": None, "rows": [1.5, [None]]}}


def test_a_tool_call_holding_non_finite_numbers_still_streams_to_finish_and_done() -> None:
    record = {"id": "c1", "name": "lookup", "arguments": '{"limit": 1e999, "ratio": NaN}', "status": "ok",
              "result": {"score": float("inf")}}
    parts = parts_of(body_of([StepStarted(1), ToolRan(record), StepFinished(1)], answer()))
    assert kinds(parts)[-2:] == ["message-metadata", "finish"]
    tool_input, tool_output = parts[2:4]
    assert tool_input["input"] == {"limit": None, "ratio": None}
    assert tool_output["output"] == {"score": None}


def test_a_part_that_cannot_be_made_closes_the_turn_before_the_stream_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []

    def turn() -> Generator[TurnEvent, None, ChatResponse]:
        try:
            yield StepStarted(1)
            yield ReplyText(1, "Hel")
            yield ReplyText(1, "lo")
        finally:
            closed.append("turn closed")  # where the real turn settles or releases its reservation
        return answer()

    made = ui_stream.UiMessageParts.of

    def of(self: ui_stream.UiMessageParts, event: TurnEvent) -> list[dict[str, Any]]:
        if isinstance(event, ReplyText):
            raise RuntimeError("a bug while making a part")
        return made(self, event)

    monkeypatch.setattr(ui_stream.UiMessageParts, "of", of)
    stream = ui_stream.chunks(STARTED, turn())
    body = b""
    for chunk in stream:
        body += chunk
        if chunk == ui_stream.DONE:
            assert closed == ["turn closed"], "the turn ended before the stream's last part"
    assert [p["type"] for p in parts_of(body)][-2:] == ["error", "finish"]


def test_a_message_kept_for_a_person_names_no_reply_in_start_and_ends_waiting_for_person() -> None:
    kept = ChatResponse(session_id="S1", message="A person has it.", status="waiting_for_person",
                        metadata=ChatMetadata(tokens=0, input_tokens=0, output_tokens=0, cost_cents=0.0, model="",
                                              provider="", message_id="U1", stopped="escalated"))
    parts = parts_of(b"".join(ui_stream.chunks(TurnStarted(session_id="S1", user_message_id="U1"), iter_of(kept))))
    assert "messageId" not in parts[0], "nothing of the assistant's is stored: no id to rate"
    assert parts[-3:-1][0]["data"] == {"code": "waiting_for_person"} and parts[-1]["finishReason"] == "other"


def test_start_names_the_reply_by_the_id_it_will_be_stored_under() -> None:
    started = TurnStarted(session_id="S1", user_message_id="U1", reply_id="R1")
    parts = parts_of(b"".join(ui_stream.chunks(started, iter_of(answer()))))
    assert parts[0] == {"type": "start", "messageId": "R1",
                        "messageMetadata": {"session_id": "S1", "user_message_id": "U1"}}


def iter_of(end: ChatResponse) -> Generator[TurnEvent, None, ChatResponse]:
    yield from ()
    return end


def test_an_answer_cut_at_max_tokens_finishes_for_length_with_no_ending_part() -> None:
    cut = answer()
    cut.metadata.truncated = True
    parts = parts_of(body_of([StepStarted(1), ReplyText(1, "Done."), StepFinished(1)], cut))
    assert kinds(parts)[-2:] == ["message-metadata", "finish"] and parts[-1]["finishReason"] == "length"
