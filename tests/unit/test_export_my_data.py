"""GET /me/export: everything stored of the caller's, in pages that follow a cursor, and nothing of anyone else's."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Api, error_code

from aichat import wiring
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.table import exports

OWNER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())


def everything(api: Api, limit: int = 5, **who: Any) -> list[dict[str, Any]]:
    """Every export page, following next_cursor to the end."""
    pages, query = [], {"limit": str(limit)}
    while True:
        reply = api.invoke("export_my_data", query=query, **who)
        assert reply.status == 200, reply.body
        pages.append(reply.body)
        if not reply.body.get("next_cursor"):
            return pages
        query = {"limit": str(limit), "cursor": reply.body["next_cursor"]}


def merged(pages: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each exported session's message contents, merged across pages by id."""
    sessions: dict[str, dict[str, str]] = {}
    for page in pages:
        for session in page["sessions"]:
            sessions.setdefault(session["id"], {}).update({m["id"]: m["content"] for m in session["messages"]})
    return {sid: [text for _, text in sorted(messages.items())] for sid, messages in sessions.items()}


def test_the_export_holds_every_session_of_the_caller_with_every_message_and_nothing_else(api: Api) -> None:
    mine = [str(api.chat(f"question {i}").body["session_id"]) for i in range(3)]
    api.chat("not yours", user="mallory")
    api.chat("not yours either", tenant="globex")

    pages = everything(api, limit=2)

    sessions = merged(pages)
    assert set(sessions) == set(mine)
    for i, session_id in enumerate(mine):
        assert sessions[session_id][0] == f"question {i}" and len(sessions[session_id]) == 2
    assert "not yours" not in str(pages)
    assert len(pages) >= 2, "two sessions a page"
    listed = [s["id"] for page in pages for s in page["sessions"]]
    assert listed == sorted(mine, reverse=True), "newest first, each once"


def test_a_session_too_long_for_one_page_goes_on_in_the_next_under_its_id(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = str(api.chat("first").body["session_id"])
    for i in range(4):
        api.chat(f"more {i}", session_id)
    monkeypatch.setattr(exports, "PAGE_BYTES", 2_500)  # about three messages a page

    pages = everything(api)

    assert len(pages) >= 3
    assert pages[0]["sessions"][0]["continued"] is True
    assert merged(pages)[session_id][0] == "first" and len(merged(pages)[session_id]) == 10


def test_tickets_the_model_opened_come_after_the_sessions(services: wiring.Services, api: Api) -> None:
    services.chat.send(OWNER, ChatRequest(message="Please create a ticket: my internet is down",
                                          session_type="customer_support"), None)
    tickets = [t for page in everything(api) for t in page["tickets"]]
    others = [t for page in everything(api, user="mallory") for t in page["tickets"]]
    assert others == []
    assert len(tickets) == 1, "the offline model opens a ticket when asked"
    assert tickets[0]["session_id"] and tickets[0]["title"] and tickets[0]["status"] == "open"


def test_a_cursor_this_route_did_not_give_is_refused_naming_cursor(api: Api) -> None:
    api.chat("hello")
    history_cursor_of_another_list = "aGlzdG9yeXwwMUpE"
    for cursor in ("nonsense", history_cursor_of_another_list):
        refused = api.invoke("export_my_data", query={"cursor": cursor})
        assert (refused.status, refused.body["field"]) == (422, "cursor"), cursor
    assert error_code(api.invoke("export_my_data", query={"limit": "0"})) == "invalid_input"
