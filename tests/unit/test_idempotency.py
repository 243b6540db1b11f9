"""POST /chat with an Idempotency-Key, through the chat handler on moto: one answer and one charge per key, held by
the key's claim in the turn's own reserve transaction (the ledger's TURNKEY# item), as the stream's is."""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import Api, Reply, ScriptedProvider, load_event, load_function
from counters import day_counters

from aichat.core.errors import ProviderError

DAY = "2026-11-24"


class KeyedChat:
    """The chat function invoked with its event and an Idempotency-Key header, as API Gateway would."""

    def __init__(self, api: Api) -> None:
        self.module: ModuleType = load_function("chat")
        self.module.services = api.services

    def post(self, message: str, key: str | None, *, session_id: str | None = None, user: str = "user-1",
             tenant: str = "acme", context: Any = None) -> Reply:
        event = load_event("chat")
        event["requestContext"]["authorizer"]["jwt"]["claims"].update(sub=user, tenant_id=tenant, roles="[]")
        event["body"] = json.dumps({"message": message, "session_id": session_id})
        if key is not None:
            event["headers"]["idempotency-key"] = key
        result = self.module.lambda_handler(event, context)
        return Reply(result["statusCode"], json.loads(result["body"]), result.get("headers") or {})


@pytest.fixture
def keyed(api: Api) -> KeyedChat:
    return KeyedChat(api)


def tenant_cost(dynamodb: Any, tenant: str = "acme") -> int:
    return day_counters(dynamodb, tenant, DAY).get("cost_micros", 0)


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


def test_a_key_is_claimed_in_the_ledger_table_hashed_small_and_expiring_with_the_key(
        keyed: KeyedChat, dynamodb: Any, provider: ScriptedProvider, clock: Any) -> None:
    provider.answer_next(lambda a: dataclasses.replace(a, text="語" * 100_000))  # 300 KB, ~600 KB JSON-escaped
    first = keyed.post("hello", "key-with-user-secret")
    assert first.status == 200 and len(first.body["message"]) == 100_000
    (claim,) = _claims(dynamodb)
    assert claim["turn_status"]["S"] == "ok" and claim["reply_id"]["S"] == first.body["metadata"]["message_id"]
    assert "key-with-user-secret" not in json.dumps(claim) and "user-1" not in claim["PK"]["S"]
    assert len(json.dumps(claim)) < 1000, "the reply's ids, never its text"
    now = int(clock().timestamp())
    assert int(claim["expires_at"]["N"]) - now == 3600, "the table's TTL attribute deletes it"
    again = keyed.post("hello", "key-with-user-secret")
    assert again.body == first.body and len(provider.history) == 1, "rebuilt from the stored reply"


def test_post_chat_keeps_no_record_but_the_ledgers_claim(keyed: KeyedChat, dynamodb: Any) -> None:
    assert keyed.post("hello", "one-key").status == 200
    assert dynamodb.list_tables()["TableNames"] == ["ai-chat"]
    assert len(_claims(dynamodb)) == 1


def test_a_keyed_retry_after_a_fault_past_the_charge_gets_the_stored_answer_and_is_not_charged_again(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settle = api.services.ledger.settle

    def committed_then_lost(*args: Any, **kwargs: Any) -> Any:
        settle(*args, **kwargs)  # the transaction commits; its answer is lost on the way back
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    with monkeypatch.context() as patch:
        patch.setattr(api.services.ledger, "settle", committed_then_lost)
        lost = keyed.post("charge me once", "key-9")
    assert lost.status == 503
    charged = tenant_cost(dynamodb)
    assert charged > 0 and len(provider.history) == 1, "the turn was answered and charged"
    retried = keyed.post("charge me once", "key-9")
    assert retried.status == 200 and len(provider.history) == 1 and tenant_cost(dynamodb) == charged, "charged once"
    history = api.invoke("get_history", session_id=retried.body["session_id"]).body["messages"]
    assert [m["content"] for m in history] == ["charge me once", retried.body["message"]]


def test_a_failed_first_message_keeps_its_session_and_its_keyed_retry_lands_there_taking_no_second_slot(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api) -> None:
    provider.fail_next(ProviderError("The model provider failed; try again."))
    failed = keyed.post("first words", "key-4")
    assert failed.status == 502 and failed.body["session_id"], "the error names the session to retry in"
    retried = keyed.post("first words", "key-4")
    assert retried.status == 200 and retried.body["session_id"] == failed.body["session_id"]
    sessions = api.invoke("list_sessions").body
    assert [s["id"] for s in sessions] == [failed.body["session_id"]]
    assert _user_day(dynamodb)["sessions"] == 1, "one daily session slot, however often it is retried"
    history = api.invoke("get_history", session_id=retried.body["session_id"]).body["messages"]
    assert [(m["content"], m["status"]) for m in history] == [
        ("first words", "failed"), ("first words", "ok"), (retried.body["message"], "ok")]


def test_an_unkeyed_failure_names_the_session_it_left_behind(keyed: KeyedChat, provider: ScriptedProvider) -> None:
    provider.fail_next(ProviderError("The model provider failed; try again."))
    failed = keyed.post("no key", None)
    assert failed.status == 502
    retried = keyed.post("no key", None, session_id=failed.body["session_id"])
    assert retried.status == 200 and retried.body["session_id"] == failed.body["session_id"]


def test_a_session_whose_model_lost_its_price_answers_503_naming_the_setting(
        settings: Any, dynamodb: Any, sns: Any, provider: ScriptedProvider, clock: Any) -> None:
    from aichat import wiring

    priced = settings.model_copy(update={"LLM_MODEL": "house-model",
                                         "PRICES": {"house-model": {"input": 1, "output": 2}}})
    before = Api(wiring.build(priced, dynamodb=dynamodb, sns=sns, providers={"offline": provider}, clock=clock))
    session_id = before.chat("hello").body["session_id"]
    after = Api(wiring.build(settings, dynamodb=dynamodb, sns=sns, providers={"offline": provider}, clock=clock))
    reply = after.chat("still there?", session_id)
    assert (reply.status, reply.body["code"]) == (503, "model_not_priced")
    assert "PRICES" in reply.body["detail"] and "house-model" in reply.body["detail"]
    assert after.chat("a new session works").status == 200


class _Context:
    def __init__(self, remaining_millis: int) -> None:
        self.remaining_millis = remaining_millis

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def _user_day(dynamodb: Any) -> dict[str, int]:
    return day_counters(dynamodb, "acme", DAY, "user-1")


def _claims(dynamodb: Any) -> list[dict[str, Any]]:
    """The ledger's Idempotency-Key claims (TURNKEY# items)."""
    items: list[dict[str, Any]] = dynamodb.scan(TableName="ai-chat", FilterExpression="begins_with(PK, :k)",
                                                ExpressionAttributeValues={":k": {"S": "TURNKEY#"}})["Items"]
    return items


def test_a_keyed_turn_that_died_answers_409_until_swept_then_its_retry_runs_in_the_same_session(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api, clock: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    short_lived = _Context(remaining_millis=1)  # the turn may be swept as soon as its grace period is over

    def killed(*_: Any, **__: Any) -> bool:
        raise KeyboardInterrupt  # the invocation dies between the answer and the settle

    with monkeypatch.context() as patch:
        patch.setattr(api.services.ledger, "settle", killed)
        with pytest.raises(KeyboardInterrupt):
            keyed.post("there?", "key-5", context=short_lived)
    pending = keyed.post("there?", "key-5", context=short_lived)
    assert (pending.status, pending.body["code"]) == (409, "request_in_progress"), "the claim holds while pending"
    clock.advance(minutes=20)
    assert api.services.sweep_turns().released == 1
    retried = keyed.post("there?", "key-5", context=short_lived)
    assert retried.status == 200 and len(provider.history) == 2
    history = api.invoke("get_history", session_id=retried.body["session_id"]).body["messages"]
    assert [m["status"] for m in history] == ["failed", "ok", "ok"], "the retry ran in the session the first made"
    assert tenant_cost(dynamodb) == round(retried.body["metadata"]["cost_cents"] * 10_000)


def test_a_keyed_retry_of_a_message_kept_for_a_person_gets_the_same_answer_and_keeps_the_message_once(
        keyed: KeyedChat, provider: ScriptedProvider, dynamodb: Any, api: Api) -> None:
    session_id = str(keyed.post("My router blinks red", None).body["session_id"])
    assert api.invoke("escalate", {"reason": "Billing"}, session_id=session_id).status == 200
    first = keyed.post("Hello? Anyone?", "key-for-a-person", session_id=session_id)
    again = keyed.post("Hello? Anyone?", "key-for-a-person", session_id=session_id)
    assert first.status == again.status == 200
    assert first.body["status"] == "waiting_for_person"
    assert again.body == first.body, "the retry is told a person will reply, not handed its own words back"
    history = api.invoke("get_history", session_id=session_id).body
    assert [m["content"] for m in history["messages"]].count("Hello? Anyone?") == 1
    assert history["metadata"]["message_count"] == 3 and len(provider.history) == 1
