"""GET and PATCH /admin/config on moto: the merge patch's rules (RFC 7396), every field's bounds (422 naming it), the
ETag and If-Match (428, 412), admins of their own tenant only, and what a change does: limits at once (the fixture's
TTL is 0), prompts, models, tools and retention for new sessions and new writes only; TenantConfigChanged with
field names and no values."""

from __future__ import annotations

import json
from typing import Any

import aws_clients
import pytest
from conftest import REGION, Api, FakeClock, ScriptedProvider, error_code

from aichat import wiring
from aichat.core.config_bodies import MAX_SYSTEM_PROMPT_CHARS
from aichat.core.errors import PreconditionFailed
from aichat.core.settings import Settings
from aichat.core.tenant_config import changed_fields, merge_patch
from aichat.notify.domain_events import SOURCE
from aichat.table import keys
from aichat.table.tenants import TenantConfigs

ADMIN = "[admin]"
PROMPT = "You are Acme's support assistant. Answer in one sentence."


def get(api: Api, tenant: str = "acme", roles: str = ADMIN) -> Any:
    return api.invoke("admin_get_config", tenant=tenant, roles=roles)


def patch(api: Api, body: Any, if_match: str | None, tenant: str = "acme", roles: str = ADMIN,
          user: str = "admin-1") -> Any:
    return api.invoke("admin_patch_config", body, tenant=tenant, roles=roles, user=user,
                      headers={"If-Match": if_match})


def patched(api: Api, body: Any, tenant: str = "acme") -> Any:
    """Apply a patch to what is stored now; the reply."""
    reply = patch(api, body, get(api, tenant).headers["etag"], tenant=tenant)
    assert reply.status == 200, reply.body
    return reply


# --- the merge patch, pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "change", "result"), [  # RFC 7396, appendix A (the ones objects can show)
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
])
def test_a_merge_patch_follows_rfc_7396(target: Any, change: Any, result: Any) -> None:
    assert merge_patch(target, change) == result


def test_the_changed_fields_are_names_only_and_reach_into_session_types() -> None:
    before = {"max_messages_per_session": 10, "session_types": {"analytics": {"system_prompt": "a", "tools": []}}}
    after = {"max_messages_per_session": 10, "retention_days": 30,
             "session_types": {"analytics": {"system_prompt": "b", "tools": []}, "customer_support": {"tools": []}}}
    assert changed_fields(before, after) == ["retention_days", "session_types.analytics.system_prompt",
                                             "session_types.customer_support.tools"]


# --- reading ---------------------------------------------------------------------------------------------------------


def test_get_shows_the_deployments_defaults_for_a_tenant_without_overrides_at_version_0(api: Api) -> None:
    reply = get(api)
    assert reply.status == 200, reply.body
    assert reply.headers["etag"] == '"0"'
    body = reply.body
    assert (body["daily_cost_limit_cents"], body["user_daily_cost_limit_cents"], body["session_cost_limit_cents"],
            body["max_messages_per_session"], body["max_sessions_per_user_per_day"], body["retention_days"]) == (
        10000, None, 100, 100, 50, 90)
    assert sorted(body["session_types"]) == ["admin_assistant", "analytics", "customer_support",
                                             "network_diagnostics"]
    support = body["session_types"]["customer_support"]
    assert support["model"] == {"provider": "offline", "model": "offline-1"}
    assert support["tools"] == ["create_ticket", "escalate_to_human"] and "customer support" in support["system_prompt"]


def test_a_hand_written_config_item_is_shown_as_the_tenants_overrides(api: Api, dynamodb: Any) -> None:
    dynamodb.put_item(TableName="ai-chat", Item={"PK": {"S": keys.tenant_pk("acme")}, "SK": {"S": keys.CONFIG_SK},
                                                 "daily_cost_limit_cents": {"N": "2.5"}})
    reply = get(api)
    assert (reply.body["daily_cost_limit_cents"], reply.headers["etag"]) == (2.5, '"0"')
    assert patch(api, {"retention_days": 30}, '"0"').status == 200, "the first API write takes over the item"
    assert get(api).body["daily_cost_limit_cents"] == 2.5, "a field the patch did not name stays"


@pytest.mark.parametrize("function", ["admin_get_config", "admin_patch_config"])
@pytest.mark.parametrize("roles", ["[]", "[support]", "[agent]"])
def test_only_an_admin_reads_or_changes_the_config(api: Api, function: str, roles: str) -> None:
    reply = api.invoke(function, {"retention_days": 7}, roles=roles, headers={"If-Match": '"0"'})
    assert (reply.status, error_code(reply)) == (403, "forbidden")
    assert get(api).body["retention_days"] == 90


def test_an_admin_changes_only_their_own_tenant(api: Api) -> None:
    patched(api, {"max_messages_per_session": 4}, tenant="globex")
    assert get(api, "acme").body["max_messages_per_session"] == 100
    assert get(api, "acme").headers["etag"] == '"0"' and get(api, "globex").headers["etag"] == '"1"'


# --- If-Match --------------------------------------------------------------------------------------------------------


def test_a_patch_without_if_match_is_428_and_changes_nothing(api: Api) -> None:
    reply = patch(api, {"max_messages_per_session": 4}, None)
    assert (reply.status, error_code(reply), reply.body["field"]) == (428, "precondition_required", "If-Match")
    assert get(api).body["max_messages_per_session"] == 100


def test_a_patch_naming_an_older_version_is_412_and_changes_nothing(api: Api) -> None:
    first = patch(api, {"max_messages_per_session": 4}, '"0"')
    assert (first.status, first.headers["etag"]) == (200, '"1"')
    stale = patch(api, {"max_messages_per_session": 6}, '"0"')
    assert (stale.status, error_code(stale)) == (412, "precondition_failed")
    assert get(api).body["max_messages_per_session"] == 4
    assert patch(api, {"max_messages_per_session": 6}, '"1"').headers["etag"] == '"2"'


def test_if_match_star_applies_the_patch_to_whatever_version_is_stored(api: Api) -> None:
    assert patch(api, {"max_messages_per_session": 4}, "*").headers["etag"] == '"1"'
    changed = patch(api, {"retention_days": 9}, "*")
    assert (changed.status, changed.headers["etag"]) == (200, '"2"')
    assert (get(api).body["max_messages_per_session"], get(api).body["retention_days"]) == (4, 9)


def test_a_star_among_other_tags_or_a_weak_tag_matches_nothing(api: Api) -> None:
    """`*` stands alone (RFC 9110); and If-Match compares strongly, so W/"0" is not version 0."""
    for if_match in ('"7", *', 'W/"0"'):
        reply = patch(api, {"max_messages_per_session": 4}, if_match)
        assert (reply.status, error_code(reply)) == (412, "precondition_failed"), if_match
    assert get(api).headers["etag"] == '"0"'


def test_of_two_writes_from_the_same_version_the_second_is_412_even_after_its_own_check(dynamodb: Any) -> None:
    configs = TenantConfigs(dynamodb, "ai-chat")
    assert configs.write("acme", {"retention_days": 5}, 0, "a", "now") == 1
    with pytest.raises(PreconditionFailed):
        configs.write("acme", {"retention_days": 6}, 0, "b", "now")  # read version 0 too, lost the race
    assert configs.read("acme", consistent=True).overrides == {"retention_days": 5}


def test_a_patch_that_changes_nothing_keeps_the_version(api: Api) -> None:
    patched(api, {"retention_days": 30})
    again = patch(api, {"retention_days": 30}, '"1"')
    assert (again.status, again.headers["etag"]) == (200, '"1"')


# --- every field checked: 422 naming it ------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"daily_cost_limit_cents": -1}, "daily_cost_limit_cents"),
    ({"user_daily_cost_limit_cents": 100_000_001}, "user_daily_cost_limit_cents"),
    ({"session_cost_limit_cents": "lots"}, "session_cost_limit_cents"),
    ({"max_messages_per_session": 0}, "max_messages_per_session"),
    ({"max_messages_per_session": 10_001}, "max_messages_per_session"),
    ({"max_sessions_per_user_per_day": -5}, "max_sessions_per_user_per_day"),
    ({"retention_days": 3651}, "retention_days"),
    ({"retention_days": 0}, "retention_days"),
    ({"monthly_limit": 5}, "monthly_limit"),
    ({"session_types": {"sales": {"system_prompt": "Sell."}}}, "session_types.sales"),
    ({"session_types": {"analytics": {"system_prompt": "x" * (MAX_SYSTEM_PROMPT_CHARS + 1)}}},
     "session_types.analytics.system_prompt"),
    ({"session_types": {"analytics": {"system_prompt": ""}}}, "session_types.analytics.system_prompt"),
    ({"session_types": {"analytics": {"model": {"provider": "openai", "model": "gpt-4o"}}}},
     "session_types.analytics.model"),
    ({"session_types": {"analytics": {"model": {"provider": "offline", "model": "offline-2"}}}},
     "session_types.analytics.model"),
    ({"session_types": {"analytics": {"model": {"provider": "offline"}}}}, "session_types.analytics.model.model"),
    ({"session_types": {"analytics": {"tools": ["delete_everything"]}}}, "session_types.analytics.tools"),
    ({"session_types": {"analytics": {"tools": ["create_ticket", "create_ticket"]}}},
     "session_types.analytics.tools"),
    ({"session_types": {"analytics": {"temperature": 2}}}, "session_types.analytics.temperature"),
])
def test_a_bad_field_is_422_naming_it_and_changes_nothing(api: Api, body: dict[str, Any], field: str) -> None:
    reply = patch(api, body, '"0"')
    assert (reply.status, error_code(reply), reply.body["field"]) == (422, "invalid_input", field), reply.body
    assert get(api).headers["etag"] == '"0"'


def test_a_body_that_is_not_a_json_object_is_422(api: Api) -> None:
    reply = api.invoke("admin_patch_config", raw_body="[1]", roles=ADMIN, headers={"If-Match": '"0"'})
    assert (reply.status, reply.body["field"]) == (422, "body")


# --- null resets, fields left out stay -------------------------------------------------------------------------------


def test_null_puts_the_deployments_value_back_and_fields_left_out_stay(api: Api) -> None:
    patched(api, {"max_messages_per_session": 4, "retention_days": 30,
                  "session_types": {"analytics": {"system_prompt": PROMPT, "tools": []}}})
    reply = patched(api, {"max_messages_per_session": None, "session_types": {"analytics": {"tools": None}}})
    body = reply.body
    assert (body["max_messages_per_session"], body["retention_days"]) == (100, 30)
    assert body["session_types"]["analytics"]["system_prompt"] == PROMPT
    assert body["session_types"]["analytics"]["tools"] == [], "analytics' default: no tools"
    cleared = patched(api, {"session_types": None}).body
    assert cleared["session_types"]["analytics"]["system_prompt"] != PROMPT


# --- what a change does ----------------------------------------------------------------------------------------------


def test_a_lower_message_limit_refuses_the_next_chat(api: Api) -> None:
    first = api.chat("Hello")
    assert first.status == 200
    patched(api, {"max_messages_per_session": 2})
    refused = api.chat("Again", first.body["session_id"])
    assert (refused.status, error_code(refused), refused.body["limit"]) == (400, "session_message_limit_exceeded", 2)


def test_a_new_prompt_and_tools_reach_new_sessions_and_leave_started_ones_as_they_were(
        api: Api, provider: ScriptedProvider) -> None:
    before = api.chat("Hello").body["session_id"]
    patched(api, {"session_types": {"customer_support": {"system_prompt": PROMPT, "tools": ["create_ticket"]}}})
    api.chat("Hello")
    assert provider.history[-1].system == PROMPT
    assert [tool.name for tool in provider.history[-1].tools] == ["create_ticket"]
    api.chat("And again", before)
    assert provider.history[-1].system != PROMPT, "a session keeps what it started with"
    assert [tool.name for tool in provider.history[-1].tools] == ["create_ticket", "escalate_to_human"]
    created = api.invoke("create_session", {"session_type": "customer_support"})
    api.chat("Hi", created.body["id"])
    assert provider.history[-1].system == PROMPT, "POST /sessions starts sessions with it too"


def test_a_new_retention_applies_to_items_written_after_it(api: Api, dynamodb: Any, clock: FakeClock) -> None:
    old = api.chat("Hello").body["session_id"]
    patched(api, {"retention_days": 7})
    new = api.chat("Hello").body["session_id"]
    now = int(clock().timestamp())

    def expiries(session_id: str) -> set[int]:
        items = dynamodb.query(TableName="ai-chat", KeyConditionExpression="PK = :pk",
                               ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)}})["Items"]
        return {int(item["expires_at"]["N"]) - now for item in items}

    assert expiries(new) == {7 * 86_400}
    assert expiries(old) == {90 * 86_400}, "nothing written before the change moves"


def test_a_change_is_announced_with_the_admin_and_the_field_names_and_no_values(
        api: Api, eventbridge: Any) -> None:
    sqs = aws_clients.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="config-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eventbridge.put_rule(Name="config", EventPattern=json.dumps({"source": [SOURCE]}))
    eventbridge.put_targets(Rule="config", Targets=[{"Id": "queue", "Arn": arn}])

    patched(api, {"max_messages_per_session": 7, "session_types": {"analytics": {"system_prompt": PROMPT}}})
    patch(api, {"retention_days": 5}, '"0"')  # stale: no change, no event
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    events = [json.loads(m["Body"]) for m in messages]
    assert [e["detail-type"] for e in events] == ["TenantConfigChanged"]
    detail = events[0]["detail"]
    assert (detail["tenant_id"], detail["admin_id"], detail["version"]) == ("acme", "admin-1", 1)
    assert detail["fields"] == ["max_messages_per_session", "session_types.analytics.system_prompt"]
    assert PROMPT not in json.dumps(events) and "7" not in json.dumps(detail["fields"])


def test_a_change_reaches_another_container_once_its_ttl_has_passed(
        settings: Settings, dynamodb: Any, sns: Any, provider: ScriptedProvider, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("aichat.table.tenants.time.monotonic", lambda: now[0])
    cached = Api(wiring.build(settings.model_copy(update={"TENANT_CONFIG_TTL_SECONDS": 60}), dynamodb=dynamodb,
                              sns=sns, providers={"offline": provider}, clock=clock))
    admin = Api(wiring.build(settings, dynamodb=dynamodb, sns=sns, providers={"offline": provider}, clock=clock))
    session_id = cached.chat("Hello").body["session_id"]  # acme's config (none) read into this container's cache
    patched(admin, {"max_messages_per_session": 2})
    assert cached.chat("Again", session_id).status == 200, "within the TTL the container keeps what it read"
    now[0] += 61
    refused = cached.chat("Past the TTL", session_id)
    assert (refused.status, error_code(refused)) == (400, "session_message_limit_exceeded")
