"""What the attack on the local server sent, over HTTP: roles that only look like admin, claims too long to be keys,
lone surrogates, bodies the JSON parser cannot take. Each is a 4xx naming what is wrong, and nothing is written."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from contract.local_api import Client, Reply, User
from localdev.token import ALGORITHM, AUDIENCE, ISSUER, mint

API = "/api/v1/ai"
LONE = "\ud800"  # json.dumps sends it as the escape "\ud800", which json.loads turns back into a lone surrogate


def signed(client: Client, **claims: Any) -> str:
    """A token with these claims over the usual ones. mint() always sends roles as a list; a string claim (which
    API Gateway hands over as it is) needs a token made by hand."""
    now = int(time.time())
    usual = {"sub": "dana", "tenant_id": "hostile-roles", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    return jwt.encode({**usual, **claims}, client.server.secret, algorithm=ALGORITHM)


def usage(client: Client, token: str) -> Reply:
    return client.call("GET", f"{API}/usage", token=token)


def assert_invalid(reply: Reply, field: str, words: str) -> None:
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", field), reply.text
    assert words in reply.body["detail"]


# --- D5: roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [["read-only,admin"], ['"admin"'], "user admin", "[read-only,admin]"])
def test_a_role_that_only_looks_like_admin_gets_403_from_usage(client: Client, roles: Any) -> None:
    reply = usage(client, signed(client, roles=roles))
    assert (reply.status, reply.body["code"]) == (403, "forbidden"), reply.text


@pytest.mark.parametrize("roles", [["admin"], ["support", "admin"]])
def test_the_admin_role_alone_or_among_others_gets_usage(client: Client, roles: list[str]) -> None:
    reply = usage(client, mint("dana", "hostile-roles", roles=roles, secret=client.server.secret))
    assert reply.status == 200, reply.text


# --- D9: sub and tenant claims too long to be keys ----------------------------------------------------------


@pytest.mark.parametrize(("claim", "user", "tenant"), [
    ("sub", "a" * 1100, "hostile-long-sub"), ("sub", "a" * 257, "hostile-long-sub"),
    ("tenant_id", "dana", "t" * 1100), ("tenant_id", "dana", "t" * 257),
])
def test_a_sub_or_tenant_over_256_bytes_is_401_saying_the_limit(client: Client, claim: str, user: str,
                                                                tenant: str) -> None:
    token = mint(user, tenant, secret=client.server.secret)
    for method, path, body in (("POST", "/sessions", {}), ("POST", "/chat", {"message": "hi"}),
                               ("GET", "/sessions/my", None)):
        reply = client.call(method, API + path, body, token=token)
        assert (reply.status, reply.body["code"]) == (401, "unauthorized"), reply.text
        assert reply.body["detail"].startswith(f"The token's {claim} claim is longer than 256 bytes"), reply.text
    if claim == "sub":  # a tenant too long to be a key has no usage to look at
        admin = mint("admin", tenant, roles=["admin"], secret=client.server.secret)
        assert usage(client, admin).body["session_count"] == 0, "nothing was written for the refused caller"


def test_a_sub_and_tenant_of_256_bytes_are_served(client: Client) -> None:
    token = mint("a" * 256, "t" * 256, secret=client.server.secret)
    assert client.call("POST", f"{API}/sessions", {}, token=token).status == 201


def test_a_sub_with_a_lone_surrogate_is_401(client: Client) -> None:
    token = mint(f"dana{LONE}", "hostile", secret=client.server.secret)
    reply = client.call("POST", f"{API}/sessions", {}, token=token)
    assert (reply.status, reply.body["code"]) == (401, "unauthorized")
    assert "sub claim is not valid Unicode text" in reply.body["detail"]


# --- D7: lone surrogates in the body ------------------------------------------------------------------------


@pytest.fixture
def erin(client: Client) -> User:
    return client.as_user(f"erin-{time.monotonic_ns()}", "hostile-text")


@pytest.mark.parametrize(("body", "field"), [
    ({"message": f"hi {LONE}"}, "message"),
    ({"message": "hi", "context": {"note": LONE}}, "context"),
    ({"message": "hi", "context": {LONE: "a key"}}, "context"),
    ({"message": "hi", "context": {"a": [{"b": [f"x{LONE}"]}]}}, "context"),
])
def test_a_chat_with_a_lone_surrogate_is_422_naming_the_field_and_starts_no_session(erin: User, body: Any,
                                                                                     field: str) -> None:
    assert_invalid(erin.post(f"{API}/chat", body), field, "lone surrogate")
    assert erin.get(f"{API}/sessions/my").body == []


def test_a_session_refused_a_lone_surrogate_in_its_context_keeps_chatting(erin: User) -> None:
    session_id = erin.post(f"{API}/chat", {"message": "hi", "context": {"plan": "gold"}}).body["session_id"]
    refused = erin.post(f"{API}/chat", {"message": "more", "session_id": session_id, "context": {"plan": LONE}})
    assert_invalid(refused, "context", "lone surrogate")
    assert erin.post(f"{API}/chat", {"message": "and more", "session_id": session_id}).status == 200
    history = erin.get(f"{API}/sessions/{session_id}/history")
    assert history.status == 200 and history.body["metadata"]["context"] == {"plan": "gold"}
    assert history.body["metadata"]["message_count"] == 4


def test_lone_surrogates_in_feedback_reason_and_customer_id_are_422_naming_each(erin: User) -> None:
    assert_invalid(erin.post(f"{API}/sessions", {"customer_id": f"c{LONE}"}), "customer_id", "lone surrogate")
    turn = erin.post(f"{API}/chat", {"message": "hi"}).body
    session = f"{API}/sessions/{turn['session_id']}"
    assert_invalid(erin.post(f"{session}/feedback", {"rating": 4, "feedback": f"ok{LONE}"}), "feedback",
                   "lone surrogate")
    assert_invalid(erin.post(f"{session}/messages/{turn['metadata']['message_id']}/feedback",
                             {"rating": "up", "feedback": f"ok{LONE}"}), "feedback", "lone surrogate")
    assert_invalid(erin.post(f"{session}/escalate", {"reason": f"help{LONE}"}), "reason", "lone surrogate")
    after = erin.get(f"{session}/history").body
    assert (after["metadata"]["status"], after["metadata"]["user_rating"]) == ("active", None)
    assert after["messages"][-1]["feedback"] is None


def test_an_unknown_field_named_with_a_lone_surrogate_is_422(erin: User) -> None:
    reply = erin.post(f"{API}/chat", {"message": "hi", f"x{LONE}": 1})
    assert (reply.status, reply.body["code"]) == (422, "invalid_input"), reply.text


# --- D8: bodies the JSON parser cannot take -----------------------------------------------------------------


def test_a_body_nested_2000_deep_is_422_naming_the_body(erin: User) -> None:
    raw = ('{"message": "hi", "context": {"a": ' + "[" * 2000 + "]" * 2000 + "}}").encode()
    assert_invalid(erin.post(f"{API}/chat", raw=raw, headers={"Content-Type": "application/json"}), "body",
                   "too deeply")
    assert erin.get(f"{API}/sessions/my").body == []


def test_an_integer_of_5000_digits_is_422_naming_the_body(erin: User) -> None:
    raw = ('{"message": "hi", "context": {"n": ' + "7" * 5000 + "}}").encode()
    assert_invalid(erin.post(f"{API}/chat", raw=raw, headers={"Content-Type": "application/json"}), "body",
                   "number too long")
    assert erin.get(f"{API}/sessions/my").body == []


def test_a_context_nested_400_deep_is_422_instead_of_a_session_whose_history_fails(erin: User) -> None:
    raw = ('{"message": "hi", "context": {"a": ' + "[" * 400 + "]" * 400 + "}}").encode()
    assert_invalid(erin.post(f"{API}/chat", raw=raw, headers={"Content-Type": "application/json"}), "context",
                   "more than 32 levels")
    assert erin.get(f"{API}/sessions/my").body == []
