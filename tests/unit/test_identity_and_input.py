"""Hostile identities and inputs through the Lambda handlers: roles that only look like admin, claims too long (or too
broken) to be keys, lone surrogates, bodies the JSON parser cannot take. Each is refused before anything is written."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from conftest import Api

from aichat.core.identity import MAX_CLAIM_BYTES, identity_from_event, parse_roles
from aichat.core.models import MAX_CONTEXT_DEPTH
from aichat.core.settings import Settings

LONE = "\ud800"  # what json.loads makes of the escape "\ud800"


def caller(roles: Any) -> Any:
    event = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u", "tenant_id": "t", "roles": roles}}}}}
    return identity_from_event(event, Settings())


def nested(depth: int) -> dict[str, Any]:
    """A context of `depth` levels of objects, the context itself being the first."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def stored(dynamodb: Any) -> list[dict[str, Any]]:
    """Every item of the table."""
    return list(dynamodb.scan(TableName="ai-chat")["Items"])


# --- roles ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [["not admin"], ["read-only,admin"], ['"admin"'], "user admin", "[read-only,admin]",
                                   '["admin"]', '"admin"', "[ADMIN]", "administrator"])
def test_a_role_claim_that_only_looks_like_admin_is_not_admin(roles: Any) -> None:
    assert not caller(roles).is_admin


@pytest.mark.parametrize("roles", [["admin"], ["support", "admin"], "[admin]", "[support admin]", "admin"])
def test_the_admin_role_is_admin_as_a_list_as_api_gateways_flattened_list_and_as_a_string(roles: Any) -> None:
    assert caller(roles).is_admin


def test_a_real_list_is_taken_exactly_as_it_is() -> None:
    assert parse_roles(["not admin", "read-only,admin", '"ops"']) == {"not admin", "read-only,admin", '"ops"'}


def test_a_flattened_list_is_split_on_whitespace_only_and_nothing_is_unquoted() -> None:
    assert parse_roles("[support read-only,admin]") == {"support", "read-only,admin"}
    assert parse_roles('["admin"]') == {'"admin"'}


def test_a_plain_string_claim_is_one_role_as_api_gateway_passes_it() -> None:
    assert parse_roles("user admin") == {"user admin"}


def test_no_roles_claim_an_empty_one_and_non_text_entries_name_no_role() -> None:
    assert parse_roles(None) == parse_roles("") == parse_roles("[]") == parse_roles([]) == frozenset()
    assert parse_roles(["admin", 1, None, ""]) == {"admin"}


def test_a_role_that_only_looks_like_admin_gets_403_from_usage(api: Api) -> None:
    for roles in ("user admin", "[read-only,admin]", '["admin"]'):
        reply = api.invoke("get_usage", query={}, roles=roles)
        assert (reply.status, reply.body["code"]) == (403, "forbidden"), roles
    assert api.invoke("get_usage", query={}, roles="[support admin]").status == 200


# --- sub and tenant claims that cannot be keys ----------------------------------------------------------------


@pytest.mark.parametrize(("claim", "user", "tenant"), [
    ("sub", "u" * (MAX_CLAIM_BYTES + 1), "acme"),
    ("sub", "u" * 1100, "acme"),
    ("sub", "\U0001f600" * 65, "acme"),  # 65 characters but 260 bytes: DynamoDB counts bytes, so the limit does
    ("tenant_id", "alice", "t" * (MAX_CLAIM_BYTES + 1)),
    ("tenant_id", "alice", "t" * 1100),
])
def test_a_sub_or_tenant_over_256_bytes_is_401_naming_the_claim_and_the_limit_and_writes_nothing(
        api: Api, dynamodb: Any, claim: str, user: str, tenant: str) -> None:
    for function, body in (("create_session", {}), ("chat", {"message": "hi"}), ("list_sessions", None)):
        reply = api.invoke(function, body, user=user, tenant=tenant)
        assert (reply.status, reply.body["code"]) == (401, "unauthorized"), function
        assert f"{claim} claim is longer than 256 bytes" in reply.body["detail"]
    assert stored(dynamodb) == []


def test_a_sub_and_a_tenant_of_exactly_256_bytes_are_served(api: Api) -> None:
    user, tenant = "u" * MAX_CLAIM_BYTES, "t" * MAX_CLAIM_BYTES
    assert api.invoke("chat", {"message": "hi"}, user=user, tenant=tenant).status == 200
    assert len(api.invoke("list_sessions", user=user, tenant=tenant).body) == 1


@pytest.mark.parametrize(("user", "tenant", "claim"), [(f"u{LONE}", "acme", "sub"), ("alice", f"t{LONE}", "tenant_id")])
def test_a_sub_or_tenant_with_a_lone_surrogate_is_401_and_writes_nothing(api: Api, dynamodb: Any, user: str,
                                                                         tenant: str, claim: str) -> None:
    reply = api.invoke("create_session", {}, user=user, tenant=tenant)
    assert (reply.status, reply.body["code"]) == (401, "unauthorized")
    assert f"{claim} claim is not valid Unicode text" in reply.body["detail"]
    assert stored(dynamodb) == []


def test_a_sub_with_a_key_separator_is_still_refused_whatever_its_length(api: Api) -> None:
    reply = api.invoke("create_session", {}, user="u#" + "x" * 1000)
    assert reply.status == 401 and "must not contain '#'" in reply.body["detail"]


# --- lone surrogates in the body ------------------------------------------------------------------------------

SURROGATE_BODIES = [
    ("chat", {"message": f"hi {LONE}"}, "message"),
    ("chat", {"message": "hi", "context": {"note": LONE}}, "context"),
    ("chat", {"message": "hi", "context": {LONE: "key"}}, "context"),
    ("chat", {"message": "hi", "context": {"a": [{"b": ["ok", f"x{LONE}"]}]}}, "context"),
    ("chat", {"message": "hi", "context": {"a": {f"deep{LONE}": 1}}}, "context"),
    ("chat", {"message": "hi", "session_type": LONE}, "session_type"),
    ("create_session", {"context": {"note": "\udfff"}}, "context"),
    ("create_session", {"customer_id": f"cust{LONE}"}, "customer_id"),
    ("submit_feedback", {"rating": 3, "feedback": f"meh {LONE}"}, "feedback"),
    ("escalate", {"reason": f"help {LONE}"}, "reason"),
    ("escalate", {"reason": "help", "session_id": f"01{LONE}"}, "session_id"),
]


@pytest.mark.parametrize(("function", "body", "field"), SURROGATE_BODIES)
def test_a_lone_surrogate_in_any_field_is_422_naming_it_and_changes_nothing(api: Api, function: str,
                                                                            body: dict[str, Any], field: str) -> None:
    session_id = api.new_session()
    if function == "chat":
        body = {**body, "session_id": session_id}
    reply = api.invoke(function, raw_body=json.dumps(body), session_id=session_id)
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", field), reply.body
    assert "lone surrogate" in reply.body["detail"]
    after = api.invoke("get_history", session_id=session_id).body["metadata"]
    assert (after["status"], after["message_count"], after["user_rating"], after["context"]) == ("active", 0, None,
                                                                                                  None)
    assert len(api.invoke("list_sessions").body) == 1


def test_a_lone_surrogate_in_a_message_rating_is_422_and_the_rating_is_not_kept(api: Api) -> None:
    first = api.chat("hi")
    session_id, message_id = first.body["session_id"], first.body["metadata"]["message_id"]
    reply = api.invoke("rate_message", {"rating": "down", "feedback": f"bad {LONE}"}, session_id=session_id,
                       message_id=message_id)
    assert (reply.status, reply.body["field"]) == (422, "feedback")
    reply_message = api.invoke("get_history", session_id=session_id).body["messages"][-1]
    assert reply_message["feedback"] is None


def test_a_session_refused_a_lone_surrogate_in_its_context_keeps_chatting(api: Api) -> None:
    session_id = api.invoke("chat", {"message": "hi", "context": {"plan": "gold"}}).body["session_id"]
    refused = api.invoke("chat", {"message": "again", "session_id": session_id, "context": {"plan": LONE}})
    assert (refused.status, refused.body["field"]) == (422, "context")
    assert api.chat("and again", session_id).status == 200
    history = api.invoke("get_history", session_id=session_id).body
    assert history["metadata"]["context"] == {"plan": "gold"} and history["metadata"]["message_count"] == 4


def test_a_surrogate_pair_is_one_character_and_welcome(api: Api) -> None:
    raw = '{"message": "smile \\ud83d\\ude00", "context": {"mood": "\\ud83d\\ude00"}}'
    reply = api.invoke("chat", raw_body=raw)
    assert reply.status == 200, reply.body
    history = api.invoke("get_history", session_id=reply.body["session_id"]).body
    assert history["messages"][0]["content"] == "smile \U0001f600"


# --- bodies the JSON parser cannot take, and contexts too deep to keep --------------------------------------


def test_a_body_nested_2000_deep_is_422_naming_the_body(api: Api) -> None:
    reply = api.invoke("chat", raw_body='{"message": "hi", "context": {"a": ' + "[" * 2000 + "]" * 2000 + "}}")
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", "body")
    assert "too deeply" in reply.body["detail"]
    assert api.invoke("list_sessions").body == []


def test_an_integer_of_5000_digits_is_422_naming_the_body(api: Api) -> None:
    reply = api.invoke("submit_feedback", raw_body='{"rating": ' + "9" * 5000 + "}", session_id=api.new_session())
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", "body")
    assert f"more than {sys.get_int_max_str_digits()} digits" in reply.body["detail"]


@pytest.mark.parametrize("depth", [MAX_CONTEXT_DEPTH + 1, 400])
def test_a_context_nested_deeper_than_32_levels_is_422_and_nothing_is_stored(api: Api, depth: int) -> None:
    reply = api.invoke("chat", {"message": "hi", "context": nested(depth)})
    assert (reply.status, reply.body["field"]) == (422, "context")
    assert f"more than {MAX_CONTEXT_DEPTH} levels" in reply.body["detail"]
    assert api.invoke("list_sessions").body == []


def test_a_context_of_32_levels_is_stored_and_read_back(api: Api) -> None:
    session_id = api.invoke("chat", {"message": "hi", "context": nested(MAX_CONTEXT_DEPTH)}).body["session_id"]
    history = api.invoke("get_history", session_id=session_id)
    assert history.status == 200 and history.body["metadata"]["context"] == nested(MAX_CONTEXT_DEPTH)
