"""An admin erases one user's data in their tenant: recorded at once, done by the scheduled runner in steps, found by
key or index only, nothing of anyone else touched."""

from __future__ import annotations

from typing import Any

from conftest import Api, FakeClock, ScriptedProvider, error_code
from counters import counting, day_counters
from test_events import Published, of_type, published  # noqa: F401 - published is a fixture

from aichat import wiring
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.notify.domain_events import EventName
from aichat.table import keys

DAY = "2026-11-24"
TABLE = "ai-chat"
ADMIN = "[admin]"


def items_of(dynamodb: Any, user: str, tenant: str = "acme") -> list[str]:
    """Every key of the table that belongs to the user: their sessions, messages, tickets, claims, day counters
    (read with a Scan: the test may; the product never does)."""
    found = []
    for item in dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]:
        owner = (item.get("tenant_id", {}).get("S"), item.get("user_id", {}).get("S"))
        pk, sk = item["PK"]["S"], item["SK"]["S"]
        owned = owner == (tenant, user) and not pk.startswith("ERASURE#")
        counter = pk.startswith(f"USAGE#{tenant}#") and sk == keys.user_counter_sk(user)
        if owned or counter:
            found.append(f"{pk}/{sk}")
    return sorted(found)


def a_users_data(services: wiring.Services, api: Api, user: str, tenant: str = "acme") -> None:
    """Sessions of every kind: plain, escalated, with a ticket, with a keyed turn."""
    who = Identity(user_id=user, tenant_id=tenant, roles=frozenset())
    for i in range(3):
        api.chat(f"question {i}", user=user, tenant=tenant)
    escalated = api.chat("I want a person", user=user, tenant=tenant).body["session_id"]
    assert api.invoke("escalate", {"reason": "please"}, session_id=escalated, user=user, tenant=tenant).status == 200
    services.chat.send(who, ChatRequest(message="Please create a ticket: the line is down"), None)
    services.chat.send(who, ChatRequest(message="keyed"), None, idempotency_key=f"key-{user}")


def test_an_erasure_deletes_everything_of_the_user_by_key_or_index_and_nothing_else(
        services: wiring.Services, api: Api, dynamodb: Any, published: Published) -> None:  # noqa: F811
    a_users_data(services, api, "carol")
    a_users_data(services, api, "dave")
    a_users_data(services, api, "carol", tenant="globex")
    assert items_of(dynamodb, "carol")
    daves, globex_carols = items_of(dynamodb, "dave"), items_of(dynamodb, "carol", "globex")
    tenant_totals = day_counters(dynamodb, "acme", DAY)

    started = api.invoke("erase_user", user="ana", roles=ADMIN, path={"user_id": "carol"})
    assert started.status == 202 and started.body["status"] == "running"
    with counting(dynamodb, "dynamodb") as made:
        run = services.erasure.run(30)

    assert run.finished == 1
    assert "Scan" not in made and "Query" in made, f"found by key or index only: {made}"
    assert items_of(dynamodb, "carol") == []
    assert items_of(dynamodb, "dave") == daves and items_of(dynamodb, "carol", "globex") == globex_carols
    assert day_counters(dynamodb, "acme", DAY) == tenant_totals, "the tenant's totals stay"
    assert dave_sees_his_sessions(api)
    done = api.invoke("get_erasure", user="ana", roles=ADMIN, path={"erasure_id": started.body["erasure_id"]})
    assert done.body["status"] == "done" and done.body["finished_at"]
    assert (done.body["sessions"], done.body["tickets"], done.body["day_counters"]) == (6, 1, 1)
    (event,) = of_type(published(), EventName.USER_DATA_ERASED)
    assert (event["detail"]["user_id"], event["detail"]["sessions"], event["detail"]["requested_by"]) == (
        "carol", 6, "ana")
    assert services.erasure.run(30).worked_on == 0, "a finished erasure is not run again"


def dave_sees_his_sessions(api: Api) -> bool:
    return len(api.invoke("list_sessions", user="dave").body) == 6


def test_a_large_erasure_goes_step_by_step_and_each_step_is_saved(
        services: wiring.Services, api: Api, dynamodb: Any, settings: Any) -> None:
    for i in range(7):
        api.chat(f"question {i}", user="erin")
    erasure_id = api.invoke("erase_user", user="ana", roles=ADMIN, path={"user_id": "erin"}).body["erasure_id"]
    erasures = services.erasure._erasures
    erasures._sessions_per_step = 3
    (running,) = erasures.running()

    step = erasures.step(running)

    assert step.sessions == 3 and step.phase == "sessions"
    assert erasures.get(erasure_id, "acme").sessions == 3, "saved after the step: a runner killed now loses nothing"
    assert len(api.invoke("list_sessions", user="erin").body) == 4
    services.erasure.run(30)
    assert erasures.get(erasure_id, "acme").sessions == 7 and items_of(dynamodb, "erin") == []


def test_a_session_with_a_turn_in_flight_waits_for_a_later_step(
        services: wiring.Services, api: Api, provider: ScriptedProvider, dynamodb: Any) -> None:
    session_id = api.chat("first", user="fay").body["session_id"]
    api.invoke("erase_user", user="ana", roles=ADMIN, path={"user_id": "fay"})
    during: list[Any] = []
    provider.before_reply = lambda: during.append(services.erasure._erasures.step(
        services.erasure._erasures.running()[0]))

    assert api.chat("second", session_id, user="fay").status == 200, "the turn settles"

    assert during[0].sessions == 0 and during[0].phase == "sessions", "the session was left for later"
    provider.before_reply = None
    assert services.erasure.run(30).finished == 1
    assert items_of(dynamodb, "fay") == []


def test_only_admins_erase_and_only_in_their_own_tenant(services: wiring.Services, api: Api, dynamodb: Any) -> None:
    api.chat("mine", user="gus")
    before = items_of(dynamodb, "gus")
    assert error_code(api.invoke("erase_user", user="gus", path={"user_id": "gus"})) == "forbidden"
    assert error_code(api.invoke("erase_user", user="sam", roles="[support]", path={"user_id": "gus"})) == "forbidden"
    elsewhere = api.invoke("erase_user", user="ana", tenant="globex", roles=ADMIN, path={"user_id": "gus"})
    assert elsewhere.status == 202, "accepted: a user id unknown in the admin's tenant erases nothing"
    services.erasure.run(30)
    assert items_of(dynamodb, "gus") == before
    theirs = api.invoke("get_erasure", user="ana", tenant="globex", roles=ADMIN,
                        path={"erasure_id": elsewhere.body["erasure_id"]})
    assert (theirs.body["status"], theirs.body["sessions"]) == ("done", 0)
    assert error_code(api.invoke("get_erasure", user="ana", roles=ADMIN,
                                 path={"erasure_id": elsewhere.body["erasure_id"]})) == "erasure_not_found"
    assert error_code(api.invoke("get_erasure", user="gus",
                                 path={"erasure_id": elsewhere.body["erasure_id"]})) == "forbidden"


def test_a_user_id_no_token_could_carry_is_refused_naming_user_id(api: Api, clock: FakeClock) -> None:
    refused = api.invoke("erase_user", user="ana", roles=ADMIN, path={"user_id": "carol#TICKETS"})
    assert (refused.status, refused.body["field"]) == (422, "user_id")
