"""The guide's six endpoints over HTTP, on the real local server: its example bodies, the shapes it documents, and
what API Gateway adds around the functions (the JWT authorizer, CORS, 404s, base64 bodies)."""

from __future__ import annotations

import uuid

import pytest

from contract.local_api import Client, User
from localdev.gateway import gateway_from_template
from localdev.server import ROOT, TEMPLATE
from localdev.template import load_template
from localdev.timing import parse_header
from localdev.token import mint

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
SESSION_FIELDS = {"id", "session_type", "status", "provider", "model", "created_at", "updated_at", "message_count",
                  "total_tokens", "total_cost", "user_rating", "context"}


def someone(client: Client, *, admin: bool = False) -> User:
    """A user of their own tenant, so that tests never see each other's sessions or budgets."""
    return client.as_user(f"user-{uuid.uuid4().hex[:8]}", f"tenant-{uuid.uuid4().hex[:8]}", admin=admin)


def guide_chat(user: User) -> dict[str, object]:
    reply = user.post(f"{API}/chat", {"message": "How do I reset a customer password?", "session_id": None,
                                      "context": {"user_role": "admin"}})
    assert reply.status == 200, reply.raw
    return dict(reply.body)


# --- the guide's six endpoints, with its own example bodies -------------------------------------------------------


def test_chat_with_the_guides_example_starts_a_session_and_answers_in_the_guides_shape(client: Client) -> None:
    body = guide_chat(someone(client))
    assert set(body) == {"session_id", "message", "role", "status", "function_calls", "metadata"}
    assert body["role"] == "assistant" and body["function_calls"] == []
    assert isinstance(body["session_id"], str) and body["session_id"]
    assert "How do I reset a customer password?" in str(body["message"])
    meta = body["metadata"]
    assert isinstance(meta, dict)
    assert meta["tokens"] == meta["input_tokens"] + meta["output_tokens"] > 0
    assert meta["cost_cents"] > 0, "a chat is never free: cost is in cents with decimals"
    assert (meta["provider"], meta["model"]) == ("offline", "offline-1")


def test_create_session_with_the_guides_example_returns_the_new_session(client: Client) -> None:
    reply = someone(client).post(f"{API}/sessions", {"session_type": "admin_assistant",
                                                     "context": {"department": "network_ops"}})
    assert reply.status == 201, reply.raw
    session = reply.body
    assert set(session) >= SESSION_FIELDS
    assert (session["session_type"], session["status"]) == ("admin_assistant", "active")
    assert session["context"] == {"department": "network_ops"}
    assert (session["message_count"], session["total_tokens"], session["total_cost"]) == (0, 0, 0)


def test_history_returns_the_sessions_messages_oldest_first_with_the_session(client: Client) -> None:
    user = someone(client)
    session_id = guide_chat(user)["session_id"]
    assert user.post(f"{API}/chat", {"message": "And then?", "session_id": session_id}).status == 200

    reply = user.get(f"{API}/sessions/{session_id}/history")

    assert reply.status == 200, reply.raw
    body = reply.body
    assert body["session_id"] == session_id
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant"]
    assert body["messages"][0]["content"] == "How do I reset a customer password?"
    assert body["messages"][2]["content"] == "And then?"
    assert all({"role", "content", "created_at", "tokens"} <= set(m) for m in body["messages"])
    assert [m["created_at"] for m in body["messages"]] == sorted(m["created_at"] for m in body["messages"])
    assert body["metadata"]["id"] == session_id and body["metadata"]["message_count"] == 4


def test_my_sessions_lists_the_callers_sessions_newest_first_and_nobody_elses(client: Client) -> None:
    user, other = someone(client), someone(client)
    first = user.post(f"{API}/sessions", {"session_type": "customer_support"}).body["id"]
    second = user.post(f"{API}/sessions", {"session_type": "analytics"}).body["id"]
    other.post(f"{API}/sessions", {"session_type": "analytics"})

    reply = user.get(f"{API}/sessions/my?limit=20")

    assert reply.status == 200, reply.raw
    assert isinstance(reply.body, list), "the guide's client reads a JSON list"
    assert [s["id"] for s in reply.body] == [second, first]
    assert all(set(s) >= SESSION_FIELDS for s in reply.body)


def test_my_sessions_pages_with_the_cursor_in_x_next_cursor(client: Client) -> None:
    user = someone(client)
    ids = [user.post(f"{API}/sessions", {}).body["id"] for _ in range(3)]
    first = user.get(f"{API}/sessions/my?limit=2")
    cursor = first.headers["x-next-cursor"]
    rest = user.get(f"{API}/sessions/my?limit=2&cursor={cursor}")
    assert [s["id"] for s in first.body + rest.body] == ids[::-1]
    assert "x-next-cursor" not in rest.headers


def test_feedback_with_the_guides_example_rates_the_session_and_keeps_it_open(client: Client) -> None:
    user = someone(client)
    session_id = guide_chat(user)["session_id"]
    # The guide's body, with this API's string session id where the guide shows its integer one.
    reply = user.post(f"{API}/sessions/{session_id}/feedback",
                      {"session_id": session_id, "rating": 5, "feedback": "Very helpful!"})
    assert reply.status == 200, reply.raw
    assert (reply.body["id"], reply.body["user_rating"], reply.body["status"]) == (session_id, 5, "active")
    assert user.post(f"{API}/chat", {"message": "One more thing", "session_id": session_id}).status == 200


def test_the_guides_integer_session_id_in_a_body_is_refused_naming_session_id(client: Client) -> None:
    user = someone(client)
    session_id = guide_chat(user)["session_id"]
    reply = user.post(f"{API}/sessions/{session_id}/feedback", {"session_id": 1, "rating": 5})
    assert reply.status == 422
    assert (reply.body["code"], reply.body["field"]) == ("invalid_input", "session_id")


def test_escalate_with_the_guides_example_marks_the_session_escalated(client: Client) -> None:
    user = someone(client)
    session_id = guide_chat(user)["session_id"]
    reply = user.post(f"{API}/sessions/{session_id}/escalate",
                      {"session_id": session_id, "reason": "Complex billing issue requiring human review"})
    assert reply.status == 200, reply.raw
    assert (reply.body["status"], reply.body["escalation_reason"]) == (
        "escalated", "Complex billing issue requiring human review")
    # Later messages are kept for the person, not refused (the guide's original refused them); nothing is charged.
    again = user.post(f"{API}/chat", {"message": "Hello?", "session_id": session_id})
    assert (again.status, again.body["status"], again.body["metadata"]["cost_cents"]) == (
        200, "waiting_for_person", 0.0)


def test_a_retried_chat_with_the_same_idempotency_key_gets_the_first_answer(client: Client) -> None:
    # The header reaches the function as API Gateway passes it, and Powertools gets a Lambda context it can use.
    user = someone(client)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = user.post(f"{API}/chat", {"message": "Charge me once"}, headers=key)
    again = user.post(f"{API}/chat", {"message": "Charge me once"}, headers=key)
    other = user.post(f"{API}/chat", {"message": "Something else"}, headers=key)
    assert first.status == again.status == 200, (first.raw, again.raw)
    assert again.body == first.body
    assert (other.status, other.body["code"]) == (422, "idempotency_key_reused")
    assert len(user.get(f"{API}/sessions/my").body) == 1


# --- identity: the JWT authorizer --------------------------------------------------------------------------------


def authorized_routes() -> list[tuple[str, str]]:
    gateway = gateway_from_template(load_template(TEMPLATE), ROOT)
    return sorted((r.method, r.path.replace("{session_id}", "s1").replace("{message_id}", "m1"))
                  for r in gateway.routes if r.authorized)


@pytest.mark.parametrize(("method", "path"), authorized_routes())
def test_every_api_route_answers_401_without_a_token_as_api_gateway_does(client: Client, method: str,
                                                                         path: str) -> None:
    reply = client.call(method, path, {} if method == "POST" else None)
    assert (reply.status, reply.body) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("case", ["expired", "wrong secret", "wrong audience", "not a jwt", "no subject"])
def test_a_bad_or_expired_token_is_401_before_any_function_runs(client: Client, case: str) -> None:
    tokens = {
        "expired": lambda: client.token(ttl_seconds=-60),
        "wrong secret": lambda: mint("alice", "acme", secret="another-secret-of-at-least-32-bytes"),
        "wrong audience": lambda: client.token(aud="someone-else"),
        "not a jwt": lambda: "abc.def.ghi",
        "no subject": lambda: client.token(sub=None),
    }
    reply = client.call("POST", f"{API}/chat", {"message": "hi"}, token=tokens[case]())
    assert (reply.status, reply.body) == (401, {"message": "Unauthorized"})
    assert reply.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_roles_reach_the_function_in_api_gateways_string_form_and_admin_opens_usage(client: Client) -> None:
    # The JWT holds roles as a list; the function gets "[admin]", as behind API Gateway, and must still see admin.
    admin = someone(client, admin=True)
    guide_chat(admin)
    usage = admin.get(f"{API}/usage")
    assert usage.status == 200, usage.raw
    assert usage.body["total_messages"] >= 2 and usage.body["total_cost_cents"] > 0
    plain = client.call("GET", f"{API}/usage", token=client.token("bob", "acme"))
    assert (plain.status, plain.body["code"]) == (403, "forbidden")


def test_another_users_session_answers_404_like_a_missing_one(client: Client) -> None:
    owner, stranger = someone(client), someone(client)
    session_id = guide_chat(owner)["session_id"]
    theirs = stranger.get(f"{API}/sessions/{session_id}/history")
    missing = stranger.get(f"{API}/sessions/no-such-session/history")
    assert theirs.status == missing.status == 404
    assert theirs.body == missing.body


# --- bad input: a clear error naming the field ----------------------------------------------------------------------


def test_a_body_that_is_not_json_is_422_naming_the_body(client: Client) -> None:
    reply = someone(client).post(f"{API}/chat", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", "body")


def test_an_empty_message_is_422_naming_message(client: Client) -> None:
    reply = someone(client).post(f"{API}/chat", {"message": "", "session_id": None})
    assert (reply.status, reply.body["field"]) == (422, "message")


def test_a_limit_out_of_range_is_422_naming_limit(client: Client) -> None:
    reply = someone(client).get(f"{API}/sessions/my?limit=500")
    assert (reply.status, reply.body["field"]) == (422, "limit")


# --- API Gateway around the functions ------------------------------------------------------------------------------


def test_a_body_of_a_binary_content_type_arrives_base64_encoded_and_is_read(client: Client) -> None:
    reply = someone(client).post(f"{API}/chat", raw=b'{"message": "sent as octets"}',
                                 headers={"Content-Type": "application/octet-stream"})
    assert reply.status == 200, reply.raw
    assert "sent as octets" in reply.body["message"]


def test_cors_preflight_is_answered_without_a_token(client: Client) -> None:
    reply = client.call("OPTIONS", f"{API}/chat", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "*"
    assert {"POST", "GET"} <= set(reply.headers["access-control-allow-methods"].split(","))
    assert {"authorization", "content-type", "idempotency-key"} <= set(
        reply.headers["access-control-allow-headers"].split(","))
    assert reply.headers["access-control-max-age"] == "600"


def test_a_cross_origin_reply_carries_the_cors_headers_and_exposes_the_cursor(client: Client) -> None:
    reply = someone(client).get(f"{API}/sessions/my", headers={"Origin": "http://localhost:5173"})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "x-next-cursor" in reply.headers["access-control-expose-headers"]


def test_a_path_no_route_matches_is_api_gateways_404(client: Client) -> None:
    for method, path in (("GET", f"{API}/nothing"), ("DELETE", f"{API}/chat"), ("GET", f"{API}/sessions//history")):
        reply = client.call(method, path, token=client.token())
        assert (reply.status, reply.body) == (404, {"message": "Not Found"}), (method, path)


def test_server_timing_splits_a_chat_into_handler_and_dynamodb_time(client: Client) -> None:
    reply = someone(client).post(f"{API}/chat", {"message": "time me", "session_id": None})
    figures = parse_header(reply.headers["server-timing"])
    assert figures["dynamodb_calls"] >= 2, "a new session's chat makes at least two transactions"
    assert 0 < figures["dynamodb"] < figures["handler"] < figures["total"]
