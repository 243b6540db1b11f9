"""Every paginated route pages to its end with the cursors it hands out, over HTTP on the local server; and a cursor
is a position, not a key: one from another route, user, tenant or session reads nothing that is not the caller's.

The routes paged here are checked against the route table: a route that takes `cursor` or `after` and is not paged
to its end here fails the first test. Issue 26, R3: the staff waiting list's cursor was refused (422) on its page 2.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from aichat.api import routes
from contract.local_api import Client, Reply, User

pytestmark = pytest.mark.dynamodb_local

API = routes.API_PREFIX
# Smaller than each list, so every list takes several pages.
LIMIT = 2


@dataclass(frozen=True)
class World:
    """One tenant: a customer's sessions (three waiting for a person, one with a conversation), another customer's
    session waiting too, and a member of staff; every id in the order it was made."""

    tenant: str
    carol: User
    erin: User
    dana: User
    carols_sessions: list[str]  # oldest first
    talk: str  # carol's escalated session with a conversation: chats, a message for the person, staff replies
    waiting: list[str]  # oldest escalation first
    erins_session: str


def staff(client: Client, tenant: str, user: str = "dana", name: str = "Dana Reyes") -> User:
    return User(client, client.token(user, tenant, roles=["support"], name=name))


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply.raw
    return reply.body


@pytest.fixture(scope="module")
def world(client: Client) -> World:
    tenant = f"paging-{uuid.uuid4().hex[:8]}"
    carol, erin, dana = client.as_user("carol", tenant), client.as_user("erin", tenant), staff(client, tenant)
    talk = ok(carol.post(f"{API}/chat", {"message": "question 0", "session_id": None}))["session_id"]
    for i in (1, 2):
        ok(carol.post(f"{API}/chat", {"message": f"question {i}", "session_id": talk}))
    # Escalated in the order they were made, so the waiting list's order (escalation time, then id) is that order
    # however close together the escalations come.
    owners = (carol, carol, erin, carol)
    waiting = [talk, *(user.post(f"{API}/sessions", {}).body["id"] for user in owners[1:])]
    for user, session_id in zip(owners, waiting, strict=True):
        ok(user.post(f"{API}/sessions/{session_id}/escalate", {"reason": "A person, please"}))
    ok(carol.post(f"{API}/chat", {"message": "Is anyone there?", "session_id": talk}))
    for text in ("Dana here.", "Refunded."):
        assert dana.post(f"{API}/agent/sessions/{talk}/messages", {"content": text}).status == 201
    carols = [s for user, s in zip(owners, waiting, strict=True) if user is carol]
    return World(tenant, carol, erin, dana, carols, talk, waiting, waiting[2])


# --- each paginated route, followed to its end ------------------------------------------------------------------


def by_header(user: User, path: str) -> tuple[list[Any], list[str]]:
    """Every entry of a list route whose next page's cursor is in X-Next-Cursor, and the cursors it handed out."""
    entries: list[Any] = []
    cursors: list[str] = []
    query = f"limit={LIMIT}"
    for _ in range(50):
        reply = user.get(f"{path}{'&' if '?' in path else '?'}{query}")
        entries += ok(reply)
        cursor = reply.headers.get("x-next-cursor")
        if cursor is None:
            return entries, cursors
        cursors.append(cursor)
        query = f"limit={LIMIT}&cursor={cursor}"
    raise AssertionError(f"{path} never reached its end")


def by_next_cursor(user: User, path: str) -> tuple[list[dict[str, Any]], list[str]]:
    """A history's messages, oldest first, walking back from the newest page by next_cursor."""
    messages: list[dict[str, Any]] = []
    cursors: list[str] = []
    query = f"limit={LIMIT}"
    for _ in range(50):
        page = ok(user.get(f"{path}?{query}"))
        messages = page["messages"] + messages
        if page["next_cursor"] is None:
            return messages, cursors
        cursors.append(page["next_cursor"])
        query = f"limit={LIMIT}&cursor={page['next_cursor']}"
    raise AssertionError(f"{path} never reached its end")


def by_next_after(user: User, path: str, after: str) -> list[dict[str, Any]]:
    """A history's messages written after `after`, oldest first, following next_after."""
    messages: list[dict[str, Any]] = []
    for _ in range(50):
        page = ok(user.get(f"{path}?limit={LIMIT}&after={after}"))
        messages += page["messages"]
        if page["next_after"] is None:
            return messages
        after = page["next_after"]
    raise AssertionError(f"{path} never reached its end")


def whole_history(user: User, path: str) -> list[dict[str, Any]]:
    page = ok(user.get(f"{path}?limit=100"))
    assert page["next_cursor"] is None
    return list(page["messages"])


def page_my_sessions(w: World) -> None:
    sessions, cursors = by_header(w.carol, f"{API}/sessions/my")
    assert [s["id"] for s in sessions] == w.carols_sessions[::-1], "every session once, newest first"
    assert cursors, "more than one page"


def page_history(w: World, user: User, path: str) -> None:
    everything = whole_history(user, path)
    assert len(everything) == 10, [m["content"] for m in everything]  # 3 chats, 1 for the person, joined, 2 replies
    walked, cursors = by_next_cursor(user, path)
    assert walked == everything and cursors, "every message once, in order, by next_cursor"
    after = by_next_after(user, path, everything[0]["id"])
    assert after == everything[1:], "and forward by next_after"


def page_customer_history(w: World) -> None:
    page_history(w, w.carol, f"{API}/sessions/{w.talk}/history")


def page_waiting_list(w: World) -> None:
    waiting, cursors = by_header(w.dana, f"{API}/agent/sessions?status=escalated")
    assert [e["session_id"] for e in waiting] == w.waiting, "every waiting session once, oldest escalation first"
    assert cursors, "more than one page"


def page_staff_history(w: World) -> None:
    page_history(w, w.dana, f"{API}/agent/sessions/{w.talk}/history")


def page_export(w: World) -> None:
    pages: list[dict[str, Any]] = []
    query = f"limit={LIMIT}"
    for _ in range(50):
        pages.append(ok(w.carol.get(f"{API}/me/export?{query}")))
        if pages[-1]["next_cursor"] is None:
            break
        query = f"limit={LIMIT}&cursor={pages[-1]['next_cursor']}"
    else:
        raise AssertionError("the export never reached its end")
    sessions = [s for page in pages for s in page["sessions"]]
    assert [s["id"] for s in sessions] == w.carols_sessions[::-1], "every session of carol's once, newest first"
    talk = next(s for s in sessions if s["id"] == w.talk)
    assert talk["messages"] == whole_history(w.carol, f"{API}/sessions/{w.talk}/history"), "with every message"
    assert len(pages) > 1, "more than one page"


PAGED: dict[str, Callable[[World], None]] = {
    f"GET {API}/me/export": page_export,
    f"GET {API}/sessions/my": page_my_sessions,
    f"GET {API}/sessions/{{session_id}}/history": page_customer_history,
    f"GET {API}/agent/sessions": page_waiting_list,
    f"GET {API}/agent/sessions/{{session_id}}/history": page_staff_history,
}


def test_the_routes_paged_here_are_every_route_that_takes_a_cursor_or_after() -> None:
    takes = {f"{r.method} {r.path}" for r in (*routes.ROUTES, *routes.STREAM_ROUTES)
             if {p.name for p in r.params} & {"cursor", "after"}}
    assert takes == set(PAGED)


@pytest.mark.parametrize("route", list(PAGED))
def test_every_paginated_route_pages_to_its_end_with_the_cursors_it_hands_out(route: str, world: World) -> None:
    PAGED[route](world)


# --- a cursor is a position, not a key -------------------------------------------------------------------------


def refused_as_cursor(reply: Reply) -> str:
    assert (reply.status, reply.body["code"], reply.body["field"]) == (422, "invalid_input", "cursor"), reply.raw
    return str(reply.body["detail"])


def test_a_cursor_of_one_route_is_refused_by_every_other_naming_the_list_it_came_from(world: World) -> None:
    _, (mine, *_) = by_header(world.carol, f"{API}/sessions/my")
    _, (waiting, *_) = by_header(world.dana, f"{API}/agent/sessions?status=escalated")
    _, (history, *_) = by_next_cursor(world.carol, f"{API}/sessions/{world.talk}/history")
    uses = {
        "sessions": [world.dana.get(f"{API}/agent/sessions?cursor={mine}"),
                     world.carol.get(f"{API}/sessions/{world.talk}/history?cursor={mine}")],
        "waiting": [world.carol.get(f"{API}/sessions/my?cursor={waiting}"),
                    world.dana.get(f"{API}/agent/sessions/{world.talk}/history?cursor={waiting}")],
        "history": [world.carol.get(f"{API}/sessions/my?cursor={history}"),
                    world.dana.get(f"{API}/agent/sessions?cursor={history}")],
    }
    for origin, replies in uses.items():
        for reply in replies:
            assert f"another list ({origin})" in refused_as_cursor(reply)


def test_another_users_or_tenants_cursor_reads_only_the_callers_own(world: World, client: Client) -> None:
    _, (carols, *_) = by_header(world.carol, f"{API}/sessions/my")
    erins = ok(world.erin.get(f"{API}/sessions/my?cursor={carols}"))
    assert {s["id"] for s in erins} <= {world.erins_session}, "erin's own sessions at most, never carol's"

    _, (waiting, *_) = by_header(world.dana, f"{API}/agent/sessions?status=escalated")
    elsewhere = staff(client, f"{world.tenant}-other", user="eve", name="Eve")
    assert ok(elsewhere.get(f"{API}/agent/sessions?cursor={waiting}")) == [], "another tenant's list: its own"


def test_a_history_cursor_opens_no_session_that_is_not_the_callers(world: World, client: Client) -> None:
    customers = f"{API}/sessions/{world.talk}/history"
    _, (cursor, *_) = by_next_cursor(world.carol, customers)
    first = whole_history(world.carol, customers)[0]["id"]
    for user, path in ((world.erin, customers), (client.as_user("carol", f"{world.tenant}-other"), customers),
                       (staff(client, f"{world.tenant}-other", user="eve", name="Eve"),
                        f"{API}/agent/sessions/{world.talk}/history")):
        for query in (f"cursor={cursor}", f"after={first}"):
            reply = user.get(f"{path}?{query}")
            assert (reply.status, reply.body["code"]) == (404, "session_not_found"), (path, query)
