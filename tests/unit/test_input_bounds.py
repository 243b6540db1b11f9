"""Inputs the fuzzer found reaching DynamoDB as keys it refuses (a 500): they are 422s naming the field."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from conftest import Api, error_code

from aichat.core.models import MAX_ID_LENGTH

LONG_ID = "A" * (MAX_ID_LENGTH + 1)


STAFF = {"user": "sam", "roles": "[support]"}


@pytest.mark.parametrize("cursor", ["\x7f", "", "%%%", base64.urlsafe_b64encode(b"A" * 2000).decode(),
                                    base64.urlsafe_b64encode(b"01AB#x").decode(),
                                    base64.urlsafe_b64encode(b"2026-11-24T12:00:00.000Z#01AB").decode()])
def test_a_cursor_this_api_did_not_make_is_422_naming_cursor_on_every_route_that_takes_one(
        api: Api, cursor: str) -> None:
    escalated = api.new_session()
    assert api.invoke("escalate", {"reason": "help"}, session_id=escalated).status == 200
    routes: dict[str, dict[str, Any]] = {
        "list_sessions": {}, "get_history": {"session_id": api.new_session()},
        "agent_list_sessions": STAFF, "agent_get_history": {"session_id": escalated, **STAFF}}
    for name, kw in routes.items():
        reply = api.invoke(name, query={"cursor": cursor}, **kw)
        if cursor == "":
            assert reply.status == 200, "an empty cursor counts as none"
            continue
        assert (reply.status, error_code(reply), reply.body["field"]) == (422, "invalid_input", "cursor"), name


def test_a_cursor_the_api_returned_still_pages(api: Api) -> None:
    for _ in range(3):
        api.new_session()
    first = api.invoke("list_sessions", query={"limit": "2"})
    rest = api.invoke("list_sessions", query={"limit": "2", "cursor": first.headers["x-next-cursor"]})
    assert len(first.body) == 2 and len(rest.body) == 1


@pytest.mark.parametrize("name", ["get_history", "submit_feedback", "escalate"])
def test_a_path_id_too_long_to_be_one_is_422_naming_it(api: Api, name: str) -> None:
    bodies = {"get_history": None, "submit_feedback": {"rating": 5}, "escalate": {"reason": "help"}}
    reply = api.invoke(name, bodies[name], session_id=LONG_ID)
    assert (reply.status, reply.body["field"]) == (422, "session_id")


def test_a_session_id_in_a_chat_body_too_long_to_be_one_is_422_naming_it(api: Api) -> None:
    reply = api.chat("hi", LONG_ID)
    assert (reply.status, reply.body["field"]) == (422, "session_id")
    assert api.chat("hi", "A" * MAX_ID_LENGTH).status == 404, "an id of the longest length is looked up"
