"""GET …/history?after=<message id>: only the messages written since, in one Query, so a client can wait cheaply."""

from __future__ import annotations

from typing import Any

from conftest import Api, error_code


def conversation(api: Api, turns: int) -> tuple[str, list[str]]:
    """A session with `turns` chats (two messages each); its message ids, oldest first."""
    session_id = api.new_session()
    for i in range(turns):
        assert api.chat(f"question {i}", session_id).status == 200
    history = api.invoke("get_history", session_id=session_id)
    return session_id, [m["id"] for m in history.body["messages"]]


def queries(dynamodb: Any, call: Any) -> tuple[Any, list[str]]:
    made: list[str] = []

    def count(model: Any, **_: Any) -> None:
        made.append(model.name)

    dynamodb.meta.events.register("before-call", count)
    try:
        return call(), made
    finally:
        dynamodb.meta.events.unregister("before-call", count)


def test_after_a_message_only_the_newer_ones_come_oldest_first_in_one_query(api: Api, dynamodb: Any) -> None:
    session_id, ids = conversation(api, 3)
    reply, made = queries(dynamodb, lambda: api.invoke("get_history", session_id=session_id,
                                                       query={"after": ids[1]}))
    assert reply.status == 200
    assert [m["id"] for m in reply.body["messages"]] == ids[2:]
    assert reply.body["metadata"]["id"] == session_id and reply.body["next_after"] is None
    assert made == ["Query"], "the session comes with its newest messages"


def test_after_the_newest_message_nothing_is_new_and_the_session_is_still_there(api: Api) -> None:
    session_id, ids = conversation(api, 1)
    reply = api.invoke("get_history", session_id=session_id, query={"after": ids[-1]})
    assert (reply.status, reply.body["messages"], reply.body["metadata"]["message_count"]) == (200, [], 2)


def test_more_new_messages_than_the_limit_come_in_pages_each_named_by_next_after(api: Api) -> None:
    session_id, ids = conversation(api, 3)
    first = api.invoke("get_history", session_id=session_id, query={"after": ids[0], "limit": "2"})
    assert [m["id"] for m in first.body["messages"]] == ids[1:3] and first.body["next_after"] == ids[2]
    rest = api.invoke("get_history", session_id=session_id, query={"after": ids[2], "limit": "2"})
    assert [m["id"] for m in rest.body["messages"]] == ids[3:5] and rest.body["next_after"] == ids[4]
    last = api.invoke("get_history", session_id=session_id, query={"after": ids[4], "limit": "2"})
    assert [m["id"] for m in last.body["messages"]] == ids[5:] and last.body["next_after"] is None


def test_someone_elses_session_or_a_missing_one_is_not_found_whatever_after_says(api: Api) -> None:
    session_id, ids = conversation(api, 2)
    for query in ({"after": ids[0]}, {"after": ids[0], "limit": "1"}, {"after": "0"}):
        assert error_code(api.invoke("get_history", session_id=session_id, query=query,
                                     user="mallory")) == "session_not_found", query
    assert error_code(api.invoke("get_history", session_id="01JD0000000000000000000009",
                                 query={"after": ids[0]})) == "session_not_found"


def test_after_and_cursor_together_or_an_after_that_is_no_id_are_refused_naming_after(api: Api) -> None:
    session_id, ids = conversation(api, 1)
    both = api.invoke("get_history", session_id=session_id, query={"after": ids[0], "cursor": "x"})
    assert (both.status, both.body["field"]) == (422, "after")
    for bad in ("x" * 200, "MSG#x"):
        refused = api.invoke("get_history", session_id=session_id, query={"after": bad})
        assert (refused.status, refused.body["field"]) == (422, "after")
