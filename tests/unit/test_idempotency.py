"""POST /chat with an Idempotency-Key, through the chat handler on moto: one answer and one charge per key."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from conftest import Api, Reply, ScriptedProvider, load_event, load_function

from aichat import keys
from aichat.errors import ProviderError

DAY = "2026-11-24"


class KeyedChat:
    """The chat function invoked with its event and an Idempotency-Key header, as API Gateway would."""

    def __init__(self, api: Api) -> None:
        self.module: ModuleType = load_function("chat")
        self.module.services = api.services

    def post(self, message: str, key: str | None, *, session_id: str | None = None, user: str = "user-1",
             tenant: str = "acme") -> Reply:
        event = load_event("chat")
        event["requestContext"]["authorizer"]["jwt"]["claims"].update(sub=user, tenant_id=tenant, roles="[]")
        event["body"] = json.dumps({"message": message, "session_id": session_id})
        if key is not None:
            event["headers"]["idempotency-key"] = key
        result = self.module.lambda_handler(event, None)
        return Reply(result["statusCode"], json.loads(result["body"]), result.get("headers") or {})


@pytest.fixture
def keyed(api: Api) -> KeyedChat:
    return KeyedChat(api)


def tenant_cost(dynamodb: Any, tenant: str = "acme") -> int:
    item = dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": keys.usage_pk(tenant, DAY)},
                                                       "SK": {"S": keys.TENANT_COUNTER_SK}}).get("Item", {})
    return int(item.get("cost_micros", {}).get("N", 0))


def test_a_retry_with_the_same_key_gets_the_first_answer_and_is_charged_once(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api) -> None:
    first = keyed.post("Is my router broken?", "4f7b3c1e-0d1a-4e7e-9a55-1c2d3e4f5a6b")
    again = keyed.post("Is my router broken?", "4f7b3c1e-0d1a-4e7e-9a55-1c2d3e4f5a6b")
    assert first.status == again.status == 200
    assert again.body == first.body, "the same session, message id and cost"
    assert len(provider.history) == 1, "the model was called once"
    assert tenant_cost(dynamodb) == round(first.body["metadata"]["cost_cents"] * 10_000) > 0
    history = api.invoke("get_history", session_id=first.body["session_id"]).body
    assert len(history["messages"]) == 2 and history["metadata"]["message_count"] == 2


def test_without_a_key_each_post_is_its_own_turn(keyed: KeyedChat, provider: ScriptedProvider) -> None:
    keyed.post("hello", None)
    keyed.post("hello", None)
    assert len(provider.history) == 2


def test_the_same_key_from_another_user_or_tenant_is_another_request(keyed: KeyedChat,
                                                                      provider: ScriptedProvider) -> None:
    replies = [keyed.post("hello", "shared-key"), keyed.post("hello", "shared-key", user="user-2"),
               keyed.post("hello", "shared-key", tenant="globex")]
    assert [r.status for r in replies] == [200, 200, 200]
    assert len({r.body["session_id"] for r in replies}) == 3 and len(provider.history) == 3


def test_a_key_reused_for_a_different_message_is_refused(keyed: KeyedChat, provider: ScriptedProvider,
                                                         dynamodb: Any) -> None:
    assert keyed.post("first question", "key-1").status == 200
    cost = tenant_cost(dynamodb)
    reused = keyed.post("another question", "key-1")
    assert reused.status == 422 and reused.body["code"] == "idempotency_key_reused"
    assert "new key" in reused.body["detail"]
    assert len(provider.history) == 1 and tenant_cost(dynamodb) == cost


def test_a_duplicate_that_arrives_while_the_first_is_running_gets_409(keyed: KeyedChat,
                                                                       provider: ScriptedProvider) -> None:
    during: list[Reply] = []
    provider.before_reply = lambda: during.append(keyed.post("slow one", "key-2")) if not during else None
    first = keyed.post("slow one", "key-2")
    assert first.status == 200
    (duplicate,) = during
    assert duplicate.status == 409 and duplicate.body["code"] == "request_in_progress"
    assert "send it again" in duplicate.body["detail"]
    assert keyed.post("slow one", "key-2").body == first.body, "once finished, the retry gets the answer"
    assert len(provider.history) == 1


def test_a_failed_turn_is_not_remembered_so_its_retry_runs_and_is_charged_once(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api) -> None:
    provider.fail_next(ProviderError("The model provider refused the request; try again."))
    failed = keyed.post("please answer", "key-3")
    assert failed.status == 502 and tenant_cost(dynamodb) == 0
    retried = keyed.post("please answer", "key-3")
    assert retried.status == 200 and len(provider.history) == 2
    assert tenant_cost(dynamodb) == round(retried.body["metadata"]["cost_cents"] * 10_000)
    assert keyed.post("please answer", "key-3").body == retried.body


@pytest.mark.parametrize("key", ["x" * 256, "has space", "naïve"])
def test_an_unusable_key_is_422_naming_the_header(keyed: KeyedChat, provider: ScriptedProvider, key: str) -> None:
    reply = keyed.post("hello", key)
    assert reply.status == 422 and reply.body["field"] == "Idempotency-Key"
    assert provider.history == []


def test_records_live_in_the_table_hashed_expiring_and_out_of_every_session(keyed: KeyedChat, dynamodb: Any,
                                                                           clock: Any) -> None:
    import time

    keyed.post("hello", "key-with-user-secret")
    items = dynamodb.query(TableName="ai-chat", KeyConditionExpression="PK = :pk",
                           ExpressionAttributeValues={":pk": {"S": keys.IDEMPOTENCY_PK}})["Items"]
    (record,) = items
    assert record["idempotency_status"]["S"] == "COMPLETED"
    assert "key-with-user-secret" not in json.dumps(record) and "user-1" not in record["SK"]["S"]
    assert 3500 < int(record["expires_at"]["N"]) - time.time() <= 3600, "the table's TTL attribute deletes it"
