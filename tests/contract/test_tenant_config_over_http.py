"""An admin reads and changes their tenant's configuration over real HTTP on the local server (DynamoDB Local).

The model is the loopback fake (OpenAI's format), so a test reads the system prompt a new session's request carried;
EventBridge is a loopback too (EVENTS_ENDPOINT_URL), so a test reads the TenantConfigChanged the server sent. The
server caches a tenant's configuration for TENANT_CONFIG_TTL_SECONDS = 1, as every container does in AWS.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from fake_eventbridge import FakeEventBridge
from fake_providers import FakeProviders

from contract.local_api import Client, Reply, User, at_once, fake_model_env, local_server
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
CONFIG = f"{API}/admin/config"
TTL_SECONDS = 1
PROMPT = "You are the support assistant of Acme Broadband. Answer in one short sentence."


@pytest.fixture(scope="module")
def bus() -> Iterator[FakeEventBridge]:
    fake = FakeEventBridge()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(model: FakeProviders, bus: FakeEventBridge, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    env = fake_model_env(model.openai_url, TENANT_CONFIG_TTL_SECONDS=str(TTL_SECONDS), EVENTS_ENDPOINT_URL=bus.url,
                         AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    with local_server(dynamodb_local_url, "--quiet", table="ai-chat-tenant-config", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: process.RunningServer) -> Client:
    return Client(server)


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def admin(api: Client, tenant: str, user: str = "ana") -> User:
    return User(api, api.token(user, tenant, admin=True))


def change(person: User, body: Any, if_match: str | None) -> Reply:
    headers = {"Content-Type": "application/merge-patch+json", **({"If-Match": if_match} if if_match else {})}
    return person.client.call("PATCH", CONFIG, body, token=person.token, headers=headers)


def changed(person: User, body: Any) -> Reply:
    """The patch applied to what is stored now; its reply."""
    reply = change(person, body, person.get(CONFIG).headers["etag"])
    assert reply.status == 200, reply.raw
    return reply


def test_get_and_patch_go_version_by_version_with_etags_428_412_and_422_naming_the_field(
        api: Client, tenant: str) -> None:
    ana = admin(api, tenant)
    read = ana.get(CONFIG)
    assert (read.status, read.headers["etag"]) == (200, '"0"'), read.raw
    assert read.body["max_messages_per_session"] == 100
    assert read.body["session_types"]["customer_support"]["model"]["provider"] == "openai"

    missing = change(ana, {"max_messages_per_session": 40}, None)
    assert (missing.status, missing.body["code"]) == (428, "precondition_required"), missing.raw
    bad = change(ana, {"session_types": {"analytics": {"model": {"provider": "openai", "model": "gpt-9-turbo"}}}},
                 '"0"')
    assert (bad.status, bad.body["code"], bad.body["field"]) == (422, "invalid_input", "session_types.analytics.model")
    negative = change(ana, {"daily_cost_limit_cents": -1}, '"0"')
    assert (negative.status, negative.body["field"]) == (422, "daily_cost_limit_cents"), negative.raw

    done = change(ana, {"max_messages_per_session": 40}, '"0"')
    assert (done.status, done.headers["etag"], done.body["max_messages_per_session"]) == (200, '"1"', 40), done.raw
    stale = change(ana, {"max_messages_per_session": 60}, '"0"')
    assert (stale.status, stale.body["code"]) == (412, "precondition_failed"), stale.raw
    after = ana.get(CONFIG)
    assert (after.headers["etag"], after.body["max_messages_per_session"]) == ('"1"', 40)
    reset = change(ana, {"max_messages_per_session": None}, '"1"')
    assert (reset.headers["etag"], reset.body["max_messages_per_session"]) == ('"2"', 100)


def test_a_non_admin_gets_403_and_another_tenants_admin_sees_and_changes_nothing_of_this_tenant(
        api: Client, tenant: str) -> None:
    ana = admin(api, tenant)
    changed(ana, {"max_messages_per_session": 12, "session_types": {"analytics": {"system_prompt": PROMPT}}})
    for roles in ([], ["support"]):
        person = User(api, api.token("carol", tenant, roles=roles))
        assert person.get(CONFIG).status == 403
        refused = change(person, {"max_messages_per_session": 99}, '"1"')
        assert (refused.status, refused.body["code"]) == (403, "forbidden"), refused.raw

    other = admin(api, f"other-{tenant}", user="olga")
    theirs = other.get(CONFIG)
    assert (theirs.headers["etag"], theirs.body["max_messages_per_session"]) == ('"0"', 100)
    assert theirs.body["session_types"]["analytics"]["system_prompt"] != PROMPT
    assert change(other, {"max_messages_per_session": 3}, '"1"').status == 412, "their own version is 0, not ours"
    changed(other, {"max_messages_per_session": 3})
    mine = ana.get(CONFIG)
    assert (mine.headers["etag"], mine.body["max_messages_per_session"]) == ('"1"', 12)


def test_a_lowered_message_limit_refuses_the_next_chat_within_the_ttl(api: Client, tenant: str) -> None:
    carol = api.as_user("carol", tenant)
    first = carol.post(f"{API}/chat", {"message": "My router blinks red", "session_id": None})
    assert first.status == 200, first.raw
    changed(admin(api, tenant), {"max_messages_per_session": 2})
    time.sleep(TTL_SECONDS + 0.2)
    refused = carol.post(f"{API}/chat", {"message": "Still blinking", "session_id": first.body["session_id"]})
    assert (refused.status, refused.body["code"], refused.body["limit"]) == (
        400, "session_message_limit_exceeded", 2), refused.raw


def test_a_changed_system_prompt_reaches_the_providers_request_for_a_new_session_only(
        api: Client, model: FakeProviders, tenant: str) -> None:
    carol = api.as_user("carol", tenant)
    before = carol.post(f"{API}/chat", {"message": "Hello", "session_id": None})
    assert before.status == 200, before.raw
    changed(admin(api, tenant), {"session_types": {"customer_support": {"system_prompt": PROMPT}}})
    time.sleep(TTL_SECONDS + 0.2)

    fresh = carol.post(f"{API}/chat", {"message": "Hello again", "session_id": None})
    assert fresh.status == 200, fresh.raw
    system = model.sent("openai")[-1]["messages"][0]
    assert (system["role"], system["content"]) in {("system", PROMPT), ("developer", PROMPT)}
    older = carol.post(f"{API}/chat", {"message": "And you?", "session_id": before.body["session_id"]})
    assert older.status == 200, older.raw
    assert model.sent("openai")[-1]["messages"][0]["content"] != PROMPT, "a started session keeps its prompt"


def test_a_change_is_announced_on_eventbridge_with_the_admin_and_field_names_only(
        api: Client, bus: FakeEventBridge, tenant: str) -> None:
    sent = len(bus.requests)
    changed(admin(api, tenant, user="ana-42"),
            {"retention_days": 30, "session_types": {"analytics": {"system_prompt": PROMPT, "tools": []}}})
    entries = [entry for request in bus.requests[sent:] for entry in request
               if entry["DetailType"] == "TenantConfigChanged"]
    (entry,) = [e for e in entries if json.loads(e["Detail"])["tenant_id"] == tenant]
    detail = json.loads(entry["Detail"])
    assert (entry["Source"], detail["admin_id"], detail["version"]) == ("ai-chat", "ana-42", 1)
    assert detail["fields"] == ["retention_days", "session_types.analytics.system_prompt",
                                "session_types.analytics.tools"]
    assert PROMPT not in entry["Detail"] and "30" not in json.dumps(detail["fields"])


def test_of_two_admins_patching_the_same_version_at_once_one_wins_and_the_other_gets_412(
        api: Client, tenant: str) -> None:
    ana, ben = admin(api, tenant), admin(api, tenant, user="ben")
    etag = ana.get(CONFIG).headers["etag"]
    for round_ in range(3):
        # New values each round, so each patch changes something; each call bound to this round's values.
        answers = at_once([partial(change, person, {"max_messages_per_session": limit + 10 * round_}, etag)
                           for person, limit in ((ana, 20), (ben, 25))])
        assert sorted(a.status for a in answers) == [200, 412], [a.raw for a in answers]
        (won,) = [a for a in answers if a.status == 200]
        stored = ana.get(CONFIG)
        assert stored.body["max_messages_per_session"] == won.body["max_messages_per_session"]
        assert stored.headers["etag"] == won.headers["etag"] == f'"{round_ + 1}"'
        etag = stored.headers["etag"]
