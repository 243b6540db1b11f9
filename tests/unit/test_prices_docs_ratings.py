"""Hardening: prices that cannot lower the spend, a docs cache nobody can grow, ratings that survive a race."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from conftest import Api, load_event, load_function

from aichat import wiring
from aichat.core import settings as settings_module
from aichat.core.errors import ConfigurationError
from aichat.core.pricing import PriceTable, Usage
from aichat.core.settings import Settings
from aichat.table import keys

# --- D12: PRICES must be finite and non-negative ------------------------------------------------------------------


@pytest.mark.parametrize(("prices", "problem"), [
    ('{"my-model": {"input": 0.5, "output": -1}}', 'PRICES["my-model"].output must be a finite number >= 0'),
    ('{"my-model": {"input": -0.01, "output": 1}}', 'PRICES["my-model"].input must be a finite number >= 0'),
    ('{"my-model": {"input": NaN, "output": 1}}', 'PRICES["my-model"].input must be a finite number >= 0'),
    ('{"my-model": {"input": 1, "output": Infinity}}', 'PRICES["my-model"].output must be a finite number >= 0'),
    ('{"my-model": {"input": 1, "output": 2, "cache_read": -Infinity}}',
     'PRICES["my-model"].cache_read must be a finite number >= 0'),
    ('{"gpt-5.4": {"input": 1, "output": 2, "cache_write": "-3"}}',
     'PRICES["gpt-5.4"].cache_write must be a finite number >= 0'),
    ('{"my-model": {"input": 1, "output": "free"}}', 'PRICES["my-model"].output must be a finite number >= 0'),
    ('{"my-model": {"input": 1}}', 'PRICES["my-model"] takes input and output'),
    ('{"my-model": {"input": 1, "output": 2, "per_request": 3}}', 'PRICES["my-model"] takes input and output'),
])
def test_a_negative_or_non_finite_price_stops_the_function_at_start_naming_the_variable_and_the_model(
        prices: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_environ({"PRICES": prices})
    assert problem in str(refused.value)


def test_a_chat_function_with_a_negative_price_refuses_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRICES", '{"offline-1": {"input": 1, "output": -2}}')
    settings_module.load_settings.cache_clear()
    wiring.services.cache_clear()
    with pytest.raises(ConfigurationError, match=r'PRICES\["offline-1"\]\.output must be a finite number >= 0'):
        load_function("chat")


def test_a_free_model_is_a_valid_price_and_costs_nothing() -> None:
    settings = Settings.from_environ({"PRICES": '{"my-vllm-model": {"input": 0, "output": 0.0, "cache_read": 0}}'})
    prices = PriceTable(settings.PRICES)
    assert prices.cost_micros("my-vllm-model", Usage(input_tokens=10_000, output_tokens=10_000)) == 0


def test_a_price_table_built_by_hand_refuses_a_negative_price_too() -> None:
    with pytest.raises(ConfigurationError, match=r'PRICES\["my-model"\]\.output must be a finite number >= 0'):
        PriceTable({"my-model": {"input": Decimal(1), "output": Decimal("-0.5")}})


# --- D14: unknown docs assets are answered without growing the cache --------------------------------------------


def asset_event(name: str) -> dict[str, Any]:
    event = load_event("docs")
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /docs/assets/{asset}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/docs/assets/{name}"
    event["pathParameters"] = {"asset": name}
    return event


def test_thousands_of_unknown_asset_names_answer_404_and_leave_the_docs_cache_as_it_was() -> None:
    docs = load_function("docs")
    assert docs.lambda_handler(asset_event("swagger-ui.css"), None)["statusCode"] == 200
    cached = docs.read_asset.cache_info().currsize

    for i in range(3000):
        name = f"{uuid.uuid4().hex}-{i}.js"
        reply = docs.lambda_handler(asset_event(name), None)
        assert (reply["statusCode"], json.loads(reply["body"])) == (404, {
            "detail": f"No documentation asset is called '{name}'.", "code": "asset_not_found"})

    assert docs.read_asset.cache_info().currsize == cached == 1, "only the known file asked for is cached"
    assert docs.lambda_handler(asset_event("swagger-ui.css"), None)["statusCode"] == 200


# --- D10: a rating that meets a conflict is retried, not a 500 --------------------------------------------------


@contextmanager
def dynamodb_answering(dynamodb: Any, answer: Any) -> Iterator[dict[str, int]]:
    """DynamoDB's TransactWriteItems answered by `answer(call_number)` (an exception to raise, or None to go
    through), as the service would answer under a storm of concurrent writers."""
    calls = {"n": 0}

    def intercept(model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            calls["n"] += 1
            error = answer(calls["n"])
            if error is not None:
                raise error

    dynamodb.meta.events.register("before-call.dynamodb", intercept)
    try:
        yield calls
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", intercept)


def cancelled(dynamodb: Any, *reasons: dict[str, Any]) -> Exception:
    error: Exception = dynamodb.exceptions.TransactionCanceledException({
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": list(reasons)}, "TransactWriteItems")
    return error


def test_a_rating_that_meets_transaction_conflicts_past_the_transactions_own_retries_is_retried_and_answers_200(
        api: Api, dynamodb: Any) -> None:
    chat = api.chat("hi").body
    sid, mid = chat["session_id"], chat["metadata"]["message_id"]
    conflict = cancelled(dynamodb, {"Code": "TransactionConflict"}, {"Code": "None"})

    # The transaction helper tries 10 times before it lets the conflict out; the 11th try goes through.
    with dynamodb_answering(dynamodb, lambda n: conflict if n <= 10 else None) as calls:
        reply = api.invoke("rate_message", {"rating": "up", "feedback": "Spot on"}, session_id=sid, message_id=mid)

    assert reply.status == 200, reply.body
    assert (reply.body["feedback"], reply.body["feedback_text"]) == ("up", "Spot on")
    assert calls["n"] == 11
    history = api.invoke("get_history", session_id=sid).body["messages"]
    assert (history[-1]["feedback"], history[-1]["feedback_text"]) == ("up", "Spot on")
    assert api.services.usage.roll_up("2026-11-24")["acme"]["message_feedback"] == {"up": 1, "down": 0}


def test_a_rating_overtaken_by_other_ratings_for_longer_than_its_time_budget_answers_503_and_changes_nothing(
        api: Api, dynamodb: Any) -> None:
    chat = api.chat("hi").body
    sid, mid = chat["session_id"], chat["metadata"]["message_id"]
    stored = dynamodb.get_item(TableName="ai-chat", Key={
        "PK": {"S": keys.session_pk(sid)}, "SK": {"S": keys.message_sk(mid)}})["Item"]
    # Someone rates it down again just before each of this request's tries commits, for ever.
    overtaken = cancelled(dynamodb, {"Code": "ConditionalCheckFailed", "Item": {**stored, "feedback": {"S": "down"}}},
                          {"Code": "None"})

    started = time.monotonic()
    with dynamodb_answering(dynamodb, lambda n: overtaken) as calls:
        reply = api.invoke("rate_message", {"rating": "up"}, session_id=sid, message_id=mid)
    took = time.monotonic() - started

    assert (reply.status, reply.body) == (503, {
        "detail": "This reply is being rated by many requests at once; try again in a moment.",
        "code": "storage_unavailable"})
    assert calls["n"] > 10, "it kept trying"
    assert 6 <= took < 9, "it gave up within the function's 10 s timeout"
    assert api.invoke("get_history", session_id=sid).body["messages"][-1]["feedback"] is None
    assert api.services.usage.roll_up("2026-11-24")["acme"]["message_feedback"] == {"up": 0, "down": 0}
