"""GET …/history?after=<message id>: only the messages written since, in one Query, so a client can wait cheaply."""

from __future__ import annotations

from typing import Any

from conftest import Api, FakeClock, error_code
from counters import counting

from aichat import wiring
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, ChatResponse
from aichat.turn.stream_events import TurnStarted

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())


def conversation(api: Api, turns: int) -> tuple[str, list[str]]:
    """A session with `turns` chats (two messages each); its message ids, oldest first."""
    session_id = api.new_session()
    for i in range(turns):
        assert api.chat(f"question {i}", session_id).status == 200
    history = api.invoke("get_history", session_id=session_id)
    return session_id, [m["id"] for m in history.body["messages"]]


def test_after_a_message_only_the_newer_ones_come_oldest_first_in_one_query(api: Api, dynamodb: Any) -> None:
    session_id, ids = conversation(api, 3)
    with counting(dynamodb, "dynamodb") as made:
        reply = api.invoke("get_history", session_id=session_id, query={"after": ids[1]})
    assert reply.status == 200
    assert [m["id"] for m in reply.body["messages"]] == ids[2:]
    assert reply.body["metadata"]["id"] == session_id and reply.body["next_after"] is None
    assert made == {"Query": 1}, "the session comes with its newest messages"


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


def test_a_reply_stored_after_a_newer_message_comes_with_the_next_look_and_sorts_after_what_it_answers(
        services: wiring.Services, clock: FakeClock) -> None:
    session_id = services.chat.send(ALICE, ChatRequest(message="hello")).session_id
    slow = services.chat.stream(ALICE, ChatRequest(message="slow one", session_id=session_id))
    started = next(slow)
    assert isinstance(started, TurnStarted) and started.reply_id is not None, "the reply's id is made as it reserves"
    clock.advance(seconds=1)
    quick = services.chat.send(ALICE, ChatRequest(message="quick one", session_id=session_id))
    seen = services.sessions.history(ALICE, session_id, 50, None).messages
    assert seen[-1].id == quick.metadata.message_id and started.reply_id not in [m.id for m in seen]

    clock.advance(seconds=1)
    answer = drain(slow)
    assert answer.metadata.message_id == started.reply_id, "stored under the id the stream named first"
    look = services.sessions.history(ALICE, session_id, 50, None, after=seen[-1].id)
    assert [m.id for m in look.messages] == [started.reply_id], "the reply stored since the last look"
    again = services.sessions.history(ALICE, session_id, 50, None, after=seen[-1].id)
    assert [m.id for m in again.messages] == [started.reply_id], "until a newer message, it comes again: merge by id"
    clock.advance(seconds=1)
    newest = services.chat.send(ALICE, ChatRequest(message="later", session_id=session_id)).metadata.message_id
    later = services.sessions.history(ALICE, session_id, 50, None, after=newest)
    assert later.messages == [], "a look after a message made since the reply was stored finds nothing it had"
    order = [(m.role, m.content) for m in services.sessions.history(ALICE, session_id, 50, None).messages]
    assert order[2:4] == [("user", "slow one"), ("assistant", answer.message)], "right after what it answers"
    assert order[4][1] == "quick one"


def test_a_reply_stored_in_the_same_millisecond_as_the_look_was_made_is_not_repeated_on_the_next_page(
        services: wiring.Services) -> None:
    session_id = services.chat.send(ALICE, ChatRequest(message="one")).session_id
    services.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))
    ids = [m.id for m in services.sessions.history(ALICE, session_id, 50, None).messages]
    page = services.sessions.history(ALICE, session_id, 50, None, after=ids[2])
    assert [m.id for m in page.messages] == ids[3:], "the fixed clock stores every reply in the same millisecond"


def drain(turn: Any) -> ChatResponse:
    while True:
        try:
            next(turn)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
