"""The model acting, over HTTP on the real local server with the offline model: a ticket and a hand-over."""

from __future__ import annotations

import uuid

import pytest

from contract.local_api import Client, User

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"


def someone(client: Client) -> User:
    return client.as_user(f"user-{uuid.uuid4().hex[:8]}", f"tenant-{uuid.uuid4().hex[:8]}")


def test_the_offline_model_creates_a_ticket_and_history_keeps_the_call(client: Client) -> None:
    user = someone(client)
    reply = user.post(f"{API}/chat", {"message": "Please create a ticket: Router keeps rebooting, urgent",
                                      "session_id": None})
    assert reply.status == 200, reply.raw
    (call,) = reply.body["function_calls"]
    assert (call["name"], call["status"], call["result"]["priority"]) == ("create_ticket", "ok", "urgent")
    assert reply.body["message"].startswith("Ticket created: Router keeps rebooting, urgent (urgent)")
    history = user.get(f"{API}/sessions/{reply.body['session_id']}/history").body
    assert history["messages"][-1]["function_calls"] == reply.body["function_calls"]
    assert history["metadata"]["message_count"] == 2, "the tool call is not a message"
    stranger = someone(client).get(f"{API}/sessions/{reply.body['session_id']}/history")
    assert stranger.status == 404


def test_talk_to_a_person_hands_the_session_over_and_further_messages_wait_for_the_person(client: Client) -> None:
    user = someone(client)
    reply = user.post(f"{API}/chat", {"message": "Can I talk to a person, please?", "session_id": None})
    assert reply.status == 200, reply.raw
    assert reply.body["metadata"]["stopped"] == "escalated"
    session_id = reply.body["session_id"]
    assert user.get(f"{API}/sessions/{session_id}/history").body["metadata"]["status"] == "escalated"
    again = user.post(f"{API}/chat", {"message": "hello?", "session_id": session_id})
    assert (again.status, again.body["status"], again.body["metadata"]["cost_cents"]) == (
        200, "waiting_for_person", 0.0)
