"""A custom tool over HTTP on the real local server: CUSTOM_TOOLS names the layer's sample Python tool
(aichat.tools.samples:line_status), TOOLS_BY_SESSION_TYPE offers it to network_diagnostics, and the offline model
calls it when a message says "use line_status"."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from contract.local_api import Client, User, local_server
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
LINE_STATUS = {
    "name": "line_status", "description": "Look up the live status of a subscriber's line.",
    "parameters": {"type": "object", "properties": {"subscriber_id": {"type": "string", "minLength": 1}},
                   "required": ["subscriber_id"], "additionalProperties": False},
    "target": "aichat.tools.samples:line_status", "timeout_seconds": 5,
}
TOOLS = {"CUSTOM_TOOLS": json.dumps([LINE_STATUS]),
         "TOOLS_BY_SESSION_TYPE": json.dumps({"network_diagnostics": ["line_status", "create_ticket"]})}


@pytest.fixture(scope="module")
def tools_client(dynamodb_local_url: str) -> Iterator[Client]:
    """A server of its own, started with the custom tool configured in its environment."""
    with local_server(dynamodb_local_url, "--quiet", env=TOOLS) as running:
        yield Client(running)


def someone(client: Client) -> tuple[User, str]:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    return client.as_user(f"user-{uuid.uuid4().hex[:8]}", tenant), tenant


def diagnostics(user: User, message: str) -> dict[str, object]:
    reply = user.post(f"{API}/chat", {"message": message, "session_id": None, "session_type": "network_diagnostics"})
    assert reply.status == 200, reply.raw
    body: dict[str, object] = reply.body
    return body


def test_the_offline_model_calls_the_sample_custom_tool_for_the_callers_tenant_and_history_keeps_the_call(
        tools_client: Client) -> None:
    user, tenant = someone(tools_client)
    body = diagnostics(user, "Please use line_status 4411")
    (call,) = body["function_calls"]  # type: ignore[misc]
    assert (call["name"], call["status"], call["arguments"]) == ("line_status", "ok", {"subscriber_id": "4411"})
    assert call["result"]["tenant_id"] == tenant and call["result"]["status"] in {"up", "degraded", "down"}
    assert str(body["message"]).startswith("The line_status call returned: {")
    history = user.get(f"{API}/sessions/{body['session_id']}/history").body
    assert history["messages"][-1]["function_calls"] == body["function_calls"]
    assert someone(tools_client)[0].get(f"{API}/sessions/{body['session_id']}/history").status == 404


def test_arguments_the_tools_schema_refuses_come_back_as_an_error_call_the_model_answers_from(
        tools_client: Client) -> None:
    user, _ = someone(tools_client)
    body = diagnostics(user, "use line_status")
    (call,) = body["function_calls"]  # type: ignore[misc]
    assert call["status"] == "error" and call["arguments"] == {"subscriber_id": ""}
    assert call["result"] == {"error": "invalid arguments: subscriber_id: must be at least 1 characters"}
    assert str(body["message"]).startswith("The line_status call failed: invalid arguments")


def test_a_session_type_that_does_not_name_the_custom_tool_is_not_offered_it(tools_client: Client) -> None:
    user, _ = someone(tools_client)
    reply = user.post(f"{API}/chat", {"message": "Please use line_status 4411", "session_id": None})
    assert reply.status == 200, reply.raw
    assert reply.body["function_calls"] == [] and reply.body["message"].startswith("(offline model) You said")


@pytest.mark.parametrize(("custom_tools", "named"), [
    (json.dumps([{**LINE_STATUS, "name": "create_ticket"}]), "CUSTOM_TOOLS[0].name"),
    (json.dumps([{**LINE_STATUS, "parameters": {"type": "object", "properties": {"n": {"type": "nonsense"}}}}]),
     "CUSTOM_TOOLS[0].parameters is not a valid JSON Schema"),
])
def test_a_bad_custom_tool_stops_the_local_server_at_start_naming_it(custom_tools: str, named: str) -> None:
    env = {"CUSTOM_TOOLS": custom_tools, "TOOLS_BY_SESSION_TYPE": TOOLS["TOOLS_BY_SESSION_TYPE"]}
    with pytest.raises(RuntimeError) as refused, process.started("--moto", "--quiet", env=env):
        pass
    message = str(refused.value)
    assert "the local server exited with 2" in message and named in message, message
    assert "AI chat is running" not in message
