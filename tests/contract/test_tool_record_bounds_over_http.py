"""Tool records bounded, over real HTTP on the local server, its model the loopback fake speaking OpenAI's and then
Anthropic's wire formats (a server each): arguments and results nested 300 deep (issue 27 R1), and calls whose
records could not fit one item: 50 calls of 9.8 KB arguments, a 420 KB call id, the worst case at the caps (R10).

Each turn must answer, be charged what its model calls cost, and read back for its customer and for staff; the
ledger's invariant is checked on the server's whole table after every test.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_providers import Api, FakeProviders, Scripted, Usage
from record_bound_targets import DEPTH, nested
from sse import SseCall, of_type, start_of, types

from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Tokens
from aichat.providers.registry import DEFAULT_MODELS
from aichat.table import keys
from aichat.table.call_records import MAX_CALL_ID_CHARS, MAX_DEPTH
from aichat.turn.chat_service import MAX_TURN_TOOL_BYTES
from contract.local_api import User, fake_provider_env
from contract.served import Served, check_after_test, served_by

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
TABLE = "ai-chat-record-bounds"
GRIN = "\U0001f600"  # 12 bytes as the item stores it (an escaped pair)
ITEM_LIMIT = 400 * 1024
SCHEMA = {"type": "object", "properties": {"note": {"type": "string"}}, "additionalProperties": False}
DEEP_TOOL = {"name": "deep_result", "description": "Gives back an object nested 300 deep.", "parameters": SCHEMA,
             "target": "record_bound_targets:deep_result", "timeout_seconds": 5}
WIDE_TOOL = {"name": "wide_result", "description": "Gives back a wide text.", "parameters": SCHEMA,
             "target": "record_bound_targets:wide_result", "timeout_seconds": 5}
TESTS = Path(__file__).resolve().parents[1]


def model_env(api: Api, fake: FakeProviders) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    # The caps at their largest: the worst case a deployment can configure.
    return {**fake_provider_env(fake, api), "PYTHONPATH": path,
            "MAX_TOOL_STEPS": "8", "MAX_TOOL_CALLS_PER_STEP": "32", "MAX_TOOL_CALLS_PER_TURN": "100",
            "SESSION_COST_LIMIT_CENTS": "100000", "DAILY_COST_LIMIT_CENTS": "1000000",
            "CUSTOM_TOOLS": json.dumps([DEEP_TOOL, WIDE_TOOL]),
            "TOOLS_BY_SESSION_TYPE": json.dumps({"customer_support": ["create_ticket", "deep_result",
                                                                     "wide_result"]})}


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def served(request: pytest.FixtureRequest, model: FakeProviders, dynamodb_local_url: str) -> Iterator[Served]:
    with served_by(request.param, dynamodb_local_url, TABLE, model_env(request.param, model)) as server:
        yield server


@pytest.fixture(autouse=True)
def invariant_after(served: Served, model: FakeProviders) -> Iterator[None]:
    yield
    check_after_test(served, model)


# --- helpers -------------------------------------------------------------------------------------------------


def someone(served: Served) -> tuple[User, str]:
    tenant = f"bounds-{uuid.uuid4().hex[:8]}"
    return served.client.as_user(f"user-{uuid.uuid4().hex[:8]}", tenant), tenant


def chat(user: User, message: str, session_id: str | None = None) -> dict[str, Any]:
    reply = user.post(f"{API}/chat", {"message": message, "session_id": session_id})
    assert reply.status == 200, reply.raw
    body: dict[str, Any] = reply.body
    return body


def history(user: User, session_id: str, staff: bool = False) -> list[dict[str, Any]]:
    reply = user.get(f"{API}/{'agent/' if staff else ''}sessions/{session_id}/history")
    assert reply.status == 200, reply.raw
    messages: list[dict[str, Any]] = reply.body["messages"]
    return messages


def stored(served: Served, session_id: str) -> list[dict[str, Any]]:
    """The session's message items, oldest first."""
    items = served.db.query(TableName=served.table, ConsistentRead=True,
                            KeyConditionExpression="PK = :pk AND begins_with(SK, :msg)",
                            ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)},
                                                       ":msg": {"S": "MSG#"}})["Items"]
    return list(items)


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (names and values; numbers at most 21 bytes)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += 21
        else:
            size += 1
    return size


def charged(served: Served, tenant: str, session_id: str) -> int:
    turns = [i for i in stored(served, session_id) if i["role"]["S"] == "user"]
    assert {t["status"]["S"] for t in turns} == {"ok"}, "settled, not left pending for the sweeper"
    day = turns[0]["day"]["S"]
    counter = served.db.get_item(TableName=served.table, ConsistentRead=True, Key={
        "PK": {"S": keys.usage_pk(tenant, day)}, "SK": {"S": keys.TENANT_COUNTER_SK}})["Item"]
    return int(counter["cost_micros"]["N"])


def price(served: Served, *usages: Usage) -> int:
    return sum(PriceTable().cost_micros(DEFAULT_MODELS[served.api], Tokens(u.input, u.output)) for u in usages)


def sent_ids(model: FakeProviders, served: Served) -> tuple[list[str], list[str]]:
    """The ids of the calls and of the results in the last request the model was sent."""
    messages = model.sent(served.api)[-1]["messages"]
    if served.api == "openai":
        calls = [c["id"] for m in messages for c in m.get("tool_calls") or []]
        return calls, [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    blocks = [b for m in messages if isinstance(m["content"], list) for b in m["content"]]
    return ([b["id"] for b in blocks if b["type"] == "tool_use"],
            [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"])


# --- R1: nested 300 deep --------------------------------------------------------------------------------------


def test_arguments_nested_300_deep_are_an_error_call_nothing_runs_the_turn_is_charged_and_its_history_reads(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    deep = {"title": "x", "priority": "low", "description": None, "extra": nested(DEPTH)}
    assert len(json.dumps(deep)) < 8 * 1024, "under the size cap: only its depth is wrong"
    model.enqueue(served.api, Scripted(tool_calls=[(served.call_id(1), "create_ticket", deep)]),
                  Scripted(text="Could not open it."))
    body = chat(user, "Open a ticket")
    (made,) = body["function_calls"]
    assert made["status"] == "error" and f"more than {MAX_DEPTH} levels deep" in made["result"]["error"]
    assert isinstance(made["arguments"], str) and not made["truncated"], "kept as the text the model wrote"
    assert not [i for i in served.db.scan(TableName=served.table)["Items"]
                if i["PK"]["S"].startswith("TICKET#") and i["tenant_id"]["S"] == tenant], "nothing ran"
    told = json.dumps(model.sent(served.api)[-1]["messages"])
    assert "levels deep" in told, "the model is told why"
    assert [m["role"] for m in history(user, body["session_id"])] == ["user", "assistant"]
    assert charged(served, tenant, body["session_id"]) == price(served, Usage(), Usage())


def test_a_streamed_call_with_arguments_nested_300_deep_ends_and_settles(served: Served,
                                                                        model: FakeProviders) -> None:
    user, tenant = someone(served)
    raw = '{"note": ' + "[" * DEPTH + "]" * DEPTH + "}"
    model.enqueue(served.api, Scripted(tool_calls=[(served.call_id(2), "wide_result", raw)]),
                  Scripted(deltas=["Sorry."]))
    with SseCall(served.client.server.url, f"{API}/chat/stream", {"message": "Go", "session_id": None},
                 token=user.token, timeout=30) as call:
        assert call.status == 200
        parts = call.read_to_end()
    assert not of_type(parts, "error"), types(parts)
    (refused,) = of_type(parts, "tool-output-error")
    assert "levels deep" in refused["errorText"] and not of_type(parts, "tool-output-available")
    session_id = start_of(parts)["messageMetadata"]["session_id"]
    assert history(user, session_id)[1]["function_calls"][0]["status"] == "error"
    assert charged(served, tenant, session_id) == price(served, Usage(), Usage())


def test_a_custom_tools_result_nested_300_deep_is_an_error_call_and_the_session_stays_readable(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    model.enqueue(served.api, Scripted(tool_calls=[(served.call_id(3), "deep_result", {"note": "n"})]),
                  Scripted(text="It gave back nothing usable."))
    body = chat(user, "Run the deep tool")
    (made,) = body["function_calls"]
    assert made["status"] == "error" and "nested more than 32 levels deep" in made["result"]["error"]
    assert history(user, body["session_id"])[1]["function_calls"] == body["function_calls"]
    assert charged(served, tenant, body["session_id"]) == price(served, Usage(), Usage())


def test_a_reply_stored_nested_too_deep_before_the_bound_reads_back_as_a_preview_for_customer_and_staff(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    body = chat(user, "Hello")  # the fake's default answer
    (reply,) = [i for i in stored(served, body["session_id"]) if i["role"]["S"] == "assistant"]
    # What a turn stored before the bound: a custom tool's result, and arguments, nested 300 deep.
    old = [{"id": "call_old", "name": "deep_result", "arguments": nested(DEPTH), "status": "ok",
            "result": nested(DEPTH)}]
    served.db.update_item(TableName=served.table, Key={"PK": reply["PK"], "SK": reply["SK"]},
                          UpdateExpression="SET function_calls = :calls",
                          ExpressionAttributeValues={":calls": {"S": json.dumps(old)}})
    (shown,) = history(user, body["session_id"])[1]["function_calls"]
    assert shown["truncated"] is True and isinstance(shown["arguments"], str)
    assert set(shown["result"]) == {"preview"} and shown["result"]["preview"].startswith('{"a": {"a":')
    escalated = user.post(f"{API}/sessions/{body['session_id']}/escalate", {"reason": "Read the old reply"})
    assert escalated.status == 200, escalated.raw
    staff = User(served.client, served.client.token("dana", tenant, roles=["support"], name="Dana"))
    assert history(staff, body["session_id"], staff=True)[1]["function_calls"] == [shown]
    assert charged(served, tenant, body["session_id"]) == price(served, Usage())


# --- R10: records that could not fit one item ---------------------------------------------------------------------


def test_50_calls_of_9_8_kb_arguments_settle_in_one_item_and_every_answered_call_is_charged(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    calls = [(served.call_id(100 + i), "create_ticket", {"title": f"t{i}", "note": "n" * 9_800})
             for i in range(50)]
    model.enqueue(served.api, Scripted(tool_calls=calls, usage=Usage(input=60, output=400)),
                  Scripted(text="None of those could be opened."))
    body = chat(user, "Open fifty tickets")
    assert len(body["function_calls"]) == 50 and {c["status"] for c in body["function_calls"]} == {"error"}
    assert all(isinstance(c["arguments"], str) and c["truncated"] for c in body["function_calls"])
    (reply,) = [i for i in stored(served, body["session_id"]) if i["role"]["S"] == "assistant"]
    assert item_bytes(reply) < ITEM_LIMIT
    assert charged(served, tenant, body["session_id"]) == price(served, Usage(input=60, output=400), Usage())


def test_a_420_kb_call_id_is_kept_as_a_short_id_that_still_pairs_the_call_with_its_result(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    long_id = "call_" + "x" * 420_000
    model.enqueue(served.api, Scripted(tool_calls=[(long_id, "create_ticket",
                                                    {"title": "Line down", "priority": "low", "description": None})]),
                  Scripted(text="Opened."))
    body = chat(user, "Open a ticket")
    (made,) = body["function_calls"]
    assert made["status"] == "ok" and len(made["id"]) <= MAX_CALL_ID_CHARS
    calls, results = sent_ids(model, served)
    assert calls == results and len(calls) == 1, "the model's next call pairs the call with its result"
    model.enqueue(served.api, Scripted(text="Anything else?"))
    chat(user, "Thanks", body["session_id"])  # the next turn replays the stored call and result
    assert sent_ids(model, served) == (calls, results)
    assert charged(served, tenant, body["session_id"]) == price(served, Usage(), Usage(), Usage())


def test_the_worst_case_at_the_largest_caps_fits_one_item_with_the_longest_reply_and_is_charged(
        served: Served, model: FakeProviders) -> None:
    user, tenant = someone(served)
    # Seven model calls ask for 20 calls each (the eighth must answer): ids of 64 characters of 12 stored bytes,
    # arguments just under 8 KB, each run one's result just under the 32 KB a record keeps whole; then a reply
    # longer than an item.
    steps = [Scripted(tool_calls=[(GRIN * (MAX_CALL_ID_CHARS - 4) + f"{step:02d}{i:02d}", "wide_result",
                                   {"note": "n" * 8_150}) for i in range(20)]) for step in range(7)]
    model.enqueue(served.api, *steps, Scripted(text="z" * 400_000))
    body = chat(user, "Do everything")
    assert body["metadata"]["stopped"] is None and body["metadata"]["truncated"] is True
    ran = [c for c in body["function_calls"] if c["status"] == "ok"]
    assert ran and all(not c.get("truncated") for c in ran), "every call that ran is kept whole"
    (reply,) = [i for i in stored(served, body["session_id"]) if i["role"]["S"] == "assistant"]
    tools = len(reply["function_calls"]["S"]) + len(reply["tool_steps"]["S"])
    assert tools <= MAX_TURN_TOOL_BYTES and item_bytes(reply) < ITEM_LIMIT
    assert len(history(user, body["session_id"])[1]["function_calls"]) == len(body["function_calls"])
    assert charged(served, tenant, body["session_id"]) == price(served, *[Usage()] * 8)
