"""Custom tools (CUSTOM_TOOLS): a deployment's own tools, described by a JSON Schema and run by a Lambda function (a
loopback fake of Lambda's Invoke API, through LAMBDA_ENDPOINT_URL) or a Python callable; checked, run and refused
like the built-ins, with the caller's verified identity and never the model's."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import custom_tool_targets
import pytest
from botocore.exceptions import ReadTimeoutError
from conftest import Api, FakeClock, ScriptedProvider
from fake_lambda import FakeLambda, Reply
from fake_providers import FakeProviders
from fresh_import import NON_MODEL_FUNCTIONS, loaded_after_import
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.core.errors import ConfigurationError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.records import SessionRecord
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, CompletionRequest, ToolCall, ToolSpec, Turn
from aichat.providers.offline import OfflineProvider
from aichat.providers.openai import OpenAIProvider
from aichat.tools.custom import CustomTool
from aichat.tools.deadline import TookTooLong
from aichat.tools.lambda_target import LambdaTarget, lambda_clients
from aichat.tools.registry import ToolOutcome, ToolRegistry
from aichat.tools.results import MAX_RESULT_BYTES
from aichat.tools.tool import ToolContext

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:line-lookup"
OPEN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:open-lookup:live"
CALLER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())
SESSION = SessionRecord(id="01SESSION", tenant_id="acme", user_id="user-1", session_type="network_diagnostics",
                        status="active", provider="offline", model="offline-1", created_at="2026-11-24T12:00:00.000Z",
                        updated_at="2026-11-24T12:00:00.000Z")
SECRETS = ("Traceback", "stackTrace", "secret", "arn:aws", "123456789012", "internal", "line 42")

# Strict-compatible: every property required, no others.
SUBSCRIBER = {"type": "object", "properties": {"subscriber_id": {"type": "string", "description": "The subscriber"}},
              "required": ["subscriber_id"], "additionalProperties": False}
# Not strict-compatible: an optional property, other properties allowed, a bound.
LOOSE = {"type": "object", "properties": {"subscriber_id": {"type": "string", "minLength": 2},
                                          "days": {"type": "integer", "maximum": 30}},
         "required": ["subscriber_id"]}


def tool(name: str, target: str, parameters: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"name": name, "description": f"{name}, for tests.", "parameters": parameters or SUBSCRIBER,
            "target": target, **more}


CUSTOM = [
    tool("line_status", "aichat.tools.samples:line_status"),
    # Room for a loaded machine's first call (the client is built then); slow_lookup is the one that times out.
    tool("lookup_line", ARN, timeout_seconds=5),
    tool("slow_lookup", ARN, timeout_seconds=0.5),
    tool("open_lookup", OPEN_ARN, LOOSE),
    tool("echo", "custom_tool_targets:echo", LOOSE),
    tool("broken", "custom_tool_targets:raises"),
    tool("listy", "custom_tool_targets:returns_a_list"),
    tool("not_importable", "no_such_module_for_tests:run"),
    tool("not_callable", "custom_tool_targets:NOT_CALLABLE"),
]
DIAGNOSTICS = [t["name"] for t in CUSTOM] + ["create_ticket"]


@pytest.fixture
def fake_lambda() -> Iterator[FakeLambda]:
    server = FakeLambda()
    yield server
    server.close()


def tool_settings(fake_lambda: FakeLambda, **more: Any) -> Settings:
    return Settings.from_environ({
        "CUSTOM_TOOLS": json.dumps(CUSTOM), "LAMBDA_ENDPOINT_URL": fake_lambda.url,
        "TOOLS_BY_SESSION_TYPE": json.dumps({"network_diagnostics": DIAGNOSTICS}), **more})


@pytest.fixture
def settings(topic_arn: str, fake_lambda: FakeLambda) -> Settings:
    """The chat tests' settings (conftest's), with the custom tools offered to network_diagnostics."""
    return tool_settings(fake_lambda).model_copy(update={
        "TABLE_NAME": "ai-chat", "ESCALATION_TOPIC_ARN": topic_arn, "TENANT_CONFIG_TTL_SECONDS": 0})


@pytest.fixture
def registry(fake_lambda: FakeLambda) -> ToolRegistry:
    return ToolRegistry(tool_settings(fake_lambda))


@pytest.fixture
def context() -> ToolContext:
    return ToolContext(caller=CALLER, session=SESSION, turn_id="01TURN", now="2026-11-24T12:00:00.000Z",
                       tickets=None, escalate=lambda reason: None)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_recorded_calls() -> None:
    custom_tool_targets.CALLS.clear()


def run(registry: ToolRegistry, context: ToolContext, name: str, arguments: Any, time_left: float = 20) -> ToolOutcome:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return registry.run(ToolCall(id="call-1", name=name, arguments=text),
                        registry.for_session_type("network_diagnostics"), context, time_left)


def asks_for(name: str, arguments: dict[str, Any]) -> Any:
    """The scripted model's next answer asks for this tool instead of answering."""
    def change(answer: Completion) -> Completion:
        return dataclasses.replace(answer, text="", stop_reason="tool_calls",
                                   tool_calls=(ToolCall(id="call_0", name=name, arguments=json.dumps(arguments)),))
    return change


def error_of(outcome: ToolOutcome, *phrases: str) -> str:
    """The outcome is an error for the model and the record alike, saying `phrases` and nothing internal."""
    message = outcome.record["result"]["error"]
    assert outcome.record["status"] == "error" and outcome.result.is_error
    assert json.loads(outcome.result.content) == {"error": message}
    for phrase in phrases:
        assert phrase in message, message
    assert not any(secret in message for secret in SECRETS), message
    return str(message)


# --- settings ------------------------------------------------------------------------------------------------------


def test_there_are_no_custom_tools_by_default_and_a_tools_timeout_defaults_to_ten_seconds() -> None:
    assert Settings.from_environ({}).CUSTOM_TOOLS == ()
    assert Settings.from_environ({"CUSTOM_TOOLS": ""}).CUSTOM_TOOLS == ()
    assert Settings.from_environ({"CUSTOM_TOOLS": "[]", "LAMBDA_ENDPOINT_URL": ""}).LAMBDA_ENDPOINT_URL is None
    (line,) = Settings.from_environ({"CUSTOM_TOOLS": json.dumps(CUSTOM[:1])}).CUSTOM_TOOLS
    assert (line.name, line.timeout_seconds, line.is_lambda) == ("line_status", 10, False)
    (lookup,) = Settings.from_environ({"CUSTOM_TOOLS": json.dumps(CUSTOM[1:2])}).CUSTOM_TOOLS
    assert (lookup.target, lookup.timeout_seconds, lookup.is_lambda) == (ARN, 5, True)


@pytest.mark.parametrize(("entries", "named", "says"), [
    ([tool("has space", "m:f")], "CUSTOM_TOOLS[0].name", "pattern"),
    ([tool("x" * 65, "m:f")], "CUSTOM_TOOLS[0].name", "pattern"),
    ([tool("ok", "m:f"), tool("create_ticket", "m:f")], "CUSTOM_TOOLS[1].name", "built-in"),
    ([tool("twice", "m:f"), tool("other", "m:f"), tool("twice", ARN)], "CUSTOM_TOOLS[2].name", "CUSTOM_TOOLS[0]"),
    ([tool("t", "m:f", {"type": "array"})], "CUSTOM_TOOLS[0].parameters", "object"),
    ([tool("t", "m:f", {"type": "object", "properties": []})], "CUSTOM_TOOLS[0].parameters", "properties"),
    ([tool("t", "m:f", {"type": "object", "required": "id"})], "CUSTOM_TOOLS[0].parameters", "required"),
    ([tool("t", "https://example.invalid/tool")], "CUSTOM_TOOLS[0].target", "module:function"),
    ([tool("t", "arn:aws:lambda:us-east-1:123:function:short-account")], "CUSTOM_TOOLS[0].target", "ARN"),
    ([tool("t", "m:f", timeout_seconds=26)], "CUSTOM_TOOLS[0].timeout_seconds", "25"),
    ([tool("t", "m:f", timeout_seconds=0)], "CUSTOM_TOOLS[0].timeout_seconds", "greater than 0"),
    ([{**tool("t", "m:f"), "tenant_id": "acme"}], "CUSTOM_TOOLS[0].tenant_id", "not permitted"),
    ([{k: v for k, v in tool("t", "m:f").items() if k != "description"}], "CUSTOM_TOOLS[0].description", "required"),
    ({"name": "t"}, "CUSTOM_TOOLS", "tuple"),
])
def test_a_bad_custom_tool_stops_start_naming_its_index_and_field(entries: Any, named: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ({"CUSTOM_TOOLS": json.dumps(entries)})
    assert named in str(error.value) and says in str(error.value), str(error.value)


def test_custom_tools_that_are_not_json_are_named() -> None:
    with pytest.raises(ConfigurationError, match="CUSTOM_TOOLS must be a JSON list"):
        Settings.from_environ({"CUSTOM_TOOLS": "[{oops"})


def test_tools_by_session_type_may_name_a_custom_tool_and_an_unknown_name_still_stops_start() -> None:
    custom = json.dumps(CUSTOM[:1])
    settings = Settings.from_environ({"CUSTOM_TOOLS": custom,
                                      "TOOLS_BY_SESSION_TYPE": '{"network_diagnostics": ["line_status"]}'})
    assert settings.TOOLS_BY_SESSION_TYPE["network_diagnostics"] == ("line_status",)
    with pytest.raises(ConfigurationError, match="TOOLS_BY_SESSION_TYPE") as error:
        Settings.from_environ({"CUSTOM_TOOLS": custom, "TOOLS_BY_SESSION_TYPE": '{"analytics": ["line_stats"]}'})
    assert "line_stats" in str(error.value) and "line_status" in str(error.value), "the known names are listed"
    with pytest.raises(ConfigurationError, match="unknown tool 'line_status'"):
        Settings.from_environ({"TOOLS_BY_SESSION_TYPE": '{"analytics": ["line_status"]}'})


def test_a_bad_custom_tool_is_reported_alone_not_as_an_unknown_tool_too() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ({"CUSTOM_TOOLS": json.dumps([tool("line_status", "m:f", timeout_seconds=99)]),
                               "TOOLS_BY_SESSION_TYPE": '{"analytics": ["line_status"]}'})
    assert "CUSTOM_TOOLS[0].timeout_seconds" in str(error.value) and "unknown tool" not in str(error.value)


def test_a_custom_tool_is_offered_only_where_tools_by_session_type_names_it(registry: ToolRegistry) -> None:
    assert [t.name for t in registry.for_session_type("network_diagnostics")] == DIAGNOSTICS
    for session_type in ("customer_support", "admin_assistant", "analytics"):
        assert not [t for t in registry.for_session_type(session_type) if isinstance(t, CustomTool)]


def test_a_parameters_schema_jsonschema_refuses_stops_the_chat_function_at_start_naming_it() -> None:
    bad = tool("t", "m:f", {"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}})
    settings = Settings.from_environ({"CUSTOM_TOOLS": json.dumps([tool("fine", "m:f"), bad])})
    with pytest.raises(ConfigurationError, match=r"CUSTOM_TOOLS\[1\]\.parameters is not a valid JSON Schema"):
        ToolRegistry(settings)


# --- what the model is offered -------------------------------------------------------------------------------------


def test_a_strict_compatible_schema_is_offered_strict_and_any_other_as_given_with_strict_false(
        registry: ToolRegistry) -> None:
    specs = {s.name: s for s in registry.specs(registry.for_session_type("network_diagnostics"))}
    assert specs["line_status"] == ToolSpec("line_status", "line_status, for tests.", SUBSCRIBER, strict=True)
    assert specs["open_lookup"] == ToolSpec("open_lookup", "open_lookup, for tests.", LOOSE, strict=False)
    assert specs["create_ticket"].strict is True


@pytest.mark.parametrize("parameters", [
    {**SUBSCRIBER, "additionalProperties": True},
    {**SUBSCRIBER, "required": []},
    {**SUBSCRIBER, "properties": {"subscriber_id": {"type": "string", "format": "uuid"}}},
    {**SUBSCRIBER, "properties": {"subscriber_id": {"type": "object", "properties": {"id": {"type": "string"}}}}},
    {**SUBSCRIBER, "$schema": "https://json-schema.org/draft/2020-12/schema"},
])
def test_a_schema_strict_mode_cannot_take_is_offered_with_strict_false(parameters: dict[str, Any]) -> None:
    settings = Settings.from_environ({"CUSTOM_TOOLS": json.dumps([tool("t", "m:f", parameters)]),
                                      "TOOLS_BY_SESSION_TYPE": '{"analytics": ["t"]}'})
    registry = ToolRegistry(settings)
    (spec,) = registry.specs(registry.for_session_type("analytics"))
    assert spec.strict is False and spec.parameters == parameters


def test_openai_gets_a_custom_tool_that_is_not_strict_compatible_with_strict_false(fake: FakeProviders) -> None:
    provider = OpenAIProvider("sk-test", base_url=fake.openai_url, timeout=2.0,
                              max_tokens_parameter="max_completion_tokens")
    provider.complete(CompletionRequest(
        model="gpt-4o-mini", system="s", max_tokens=50, temperature=None, messages=(Turn("user", "hi"),),
        tools=(ToolSpec("open_lookup", "d", LOOSE, strict=False), ToolSpec("line_status", "d", SUBSCRIBER))))
    functions = [t["function"] for t in fake.requests[-1].body["tools"]]
    assert [(f["name"], f["strict"], f["parameters"]) for f in functions] == [
        ("open_lookup", False, LOOSE), ("line_status", True, SUBSCRIBER)]


# --- the Lambda target ---------------------------------------------------------------------------------------------


def test_the_lambda_function_gets_the_verified_caller_and_session_and_its_result_goes_back(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    fake_lambda.answer_next(Reply(json.dumps({"status": "up", "sync_mbps": 480}).encode()))
    outcome = run(registry, context, "lookup_line", {"subscriber_id": "4411"})
    assert outcome.record == {"id": "call-1", "name": "lookup_line", "arguments": {"subscriber_id": "4411"},
                              "status": "ok", "result": {"status": "up", "sync_mbps": 480}}
    assert json.loads(outcome.result.content) == {"status": "up", "sync_mbps": 480} and not outcome.result.is_error
    (invocation,) = fake_lambda.invocations
    assert (invocation.function, invocation.invocation_type) == (ARN, "RequestResponse")
    assert invocation.payload == {"tenant_id": "acme", "user_id": "user-1", "session_id": "01SESSION",
                                  "arguments": {"subscriber_id": "4411"}}


def test_arguments_naming_another_tenant_fail_a_closed_schema_and_nothing_is_invoked(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    outcome = run(registry, context, "lookup_line", {"subscriber_id": "4411", "tenant_id": "globex"})
    error_of(outcome, "tenant_id: not an argument of this tool")
    assert fake_lambda.invocations == []


def test_arguments_naming_another_tenant_under_an_open_schema_stay_inside_arguments(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    model_says = {"subscriber_id": "4411", "tenant_id": "globex", "user_id": "mallory", "session_id": "01OTHER"}
    assert run(registry, context, "open_lookup", model_says).record["status"] == "ok"
    (invocation,) = fake_lambda.invocations
    assert invocation.function == OPEN_ARN
    assert invocation.payload == {"tenant_id": "acme", "user_id": "user-1", "session_id": "01SESSION",
                                  "arguments": model_says}


@pytest.mark.parametrize(("arguments", "says"), [
    ({}, "subscriber_id: required"),
    ({"subscriber_id": 4411}, "subscriber_id: must be of type string"),
    ({"subscriber_id": "4411", "days": 90}, "days: must be at most 30"),
    ({"subscriber_id": "4"}, "subscriber_id: must be at least 2 characters"),
    ('{"subscriber_id": "4411"', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"subscriber_id": "4411", "days": 1e400}', "days: not a finite number"),
    ('{"subscriber_id": "4411", "days": NaN}', "days: not a finite number"),
    (json.dumps({"subscriber_id": "x" * 9000}), "larger than 8192 bytes"),
])
def test_arguments_the_schema_refuses_are_an_error_before_any_invocation(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda, arguments: Any, says: str) -> None:
    error_of(run(registry, context, "open_lookup", arguments), says)
    assert fake_lambda.invocations == [], "the function never saw the call"


def test_a_lone_surrogate_in_the_arguments_reaches_the_function_as_a_replacement_character(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    fake_lambda.answer_next(Reply(json.dumps({"status": "up"}).encode()))
    outcome = run(registry, context, "lookup_line", '{"subscriber_id": "44\\ud80011"}')
    assert outcome.record["status"] == "ok" and outcome.record["arguments"] == {"subscriber_id": "44\ufffd11"}
    (invocation,) = fake_lambda.invocations
    assert invocation.payload["arguments"] == {"subscriber_id": "44\ufffd11"}


def test_a_validation_error_names_the_field_without_echoing_the_models_value(
        registry: ToolRegistry, context: ToolContext) -> None:
    message = error_of(run(registry, context, "open_lookup", {"subscriber_id": ["LEAKME"], "days": "LEAKME2"}),
                       "subscriber_id", "days")
    assert "LEAKME" not in message


def test_a_function_error_is_an_error_result_with_the_functions_error_type_only(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    crash = {"errorMessage": "secret: could not reach internal db at 10.0.0.7", "errorType": "LineDbUnavailable",
             "requestId": "r-1", "stackTrace": ["  File \"/var/task/app.py\", line 42, in handler"]}
    fake_lambda.answer_next(Reply(json.dumps(crash).encode(), function_error="Unhandled"))
    message = error_of(run(registry, context, "lookup_line", {"subscriber_id": "4411"}),
                       "lookup_line failed (LineDbUnavailable)", "could not be done now")
    assert "10.0.0.7" not in message and "app.py" not in message


def test_a_function_error_too_large_to_read_whole_still_gives_its_error_type(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    crash = {"errorType": "Runtime.ExitError", "errorMessage": "secret " * 5000, "stackTrace": []}
    fake_lambda.answer_next(Reply(json.dumps(crash).encode(), function_error="Unhandled"))
    error_of(run(registry, context, "lookup_line", {"subscriber_id": "4411"}), "failed (Runtime.ExitError)")
    fake_lambda.answer_next(Reply(b"not json at all", function_error="Handled"))
    error_of(run(registry, context, "lookup_line", {"subscriber_id": "4411"}), "failed (Handled)")


def test_a_function_slower_than_the_tools_timeout_is_an_error_and_the_turn_goes_on(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    fake_lambda.answer_next(Reply(b'{"late": true}', delay=60))
    started = time.monotonic()
    error_of(run(registry, context, "slow_lookup", {"subscriber_id": "4411"}), "took too long", "0.5 s",
             "do not tell the user it was done")
    assert time.monotonic() - started < 30, "the function's answer (60 s away) is not waited for"
    # The invocation goes on in the background (on a loaded machine it may not even have been sent yet): it reaches
    # the function once, and its read timeout is never followed by a second try.
    deadline = time.monotonic() + 10
    while not fake_lambda.invocations and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    assert len(fake_lambda.invocations) == 1


def test_the_clients_own_read_timeout_firing_first_is_took_too_long_never_nothing_was_done() -> None:
    class TimesOut:
        def invoke(self, **_: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="http://lambda.invalid")

    target = LambdaTarget("arn:aws:lambda:us-east-1:123456789012:function:line-lookup", 0.5, lambda _: TimesOut())
    with pytest.raises(TookTooLong):
        target({"subscriber_id": "4411"}, {"tenant_id": "acme"})


def test_a_result_over_16_kb_is_an_error(registry: ToolRegistry, context: ToolContext,
                                         fake_lambda: FakeLambda) -> None:
    fake_lambda.answer_next(Reply(json.dumps({"rows": "x" * MAX_RESULT_BYTES}).encode()))
    outcome = run(registry, context, "lookup_line", {"subscriber_id": "4411"})
    error_of(outcome, "too large", "16384 bytes")
    assert len(outcome.result.content) < 1000


@pytest.mark.parametrize("payload", [b"<html>oops</html>", b"[1, 2, 3]", b'"up"', b"null", b"\xff\xfe\x00",
                                     b'{"speed": NaN}'])
def test_a_result_that_is_not_a_json_object_is_an_error(registry: ToolRegistry, context: ToolContext,
                                                        fake_lambda: FakeLambda, payload: bytes) -> None:
    fake_lambda.answer_next(Reply(payload))
    error_of(run(registry, context, "lookup_line", {"subscriber_id": "4411"}), "could not be read")


def test_a_function_lambda_cannot_find_is_a_generic_error_without_the_arn(
        registry: ToolRegistry, context: ToolContext, fake_lambda: FakeLambda) -> None:
    body = json.dumps({"Type": "User", "message": f"Function not found: {ARN}"}).encode()
    fake_lambda.answer_next(Reply(body, status=404, error_type="ResourceNotFoundException"))
    error_of(run(registry, context, "lookup_line", {"subscriber_id": "4411"}), "lookup_line failed")


def test_the_lambda_client_is_aws_clients_with_the_tools_timeout_at_lambda_endpoint_url_and_no_retry(
        fake_lambda: FakeLambda) -> None:
    client = lambda_clients(Settings(LAMBDA_ENDPOINT_URL=fake_lambda.url))(7.5)
    assert client.meta.endpoint_url == fake_lambda.url and client.meta.service_model.service_name == "lambda"
    assert client.meta.config.read_timeout == 7.5
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_the_lambda_client_is_built_on_the_first_call_and_kept(context: ToolContext,
                                                              fake_lambda: FakeLambda) -> None:
    built: list[float] = []
    real = lambda_clients(Settings(LAMBDA_ENDPOINT_URL=fake_lambda.url))

    def clients(read_timeout: float) -> Any:
        built.append(read_timeout)
        return real(read_timeout)

    registry = ToolRegistry(tool_settings(fake_lambda), lambda_clients=clients)
    assert built == [], "none at start"
    for _ in range(2):
        assert run(registry, context, "lookup_line", {"subscriber_id": "4411"}).record["status"] == "ok"
    assert built == [5]


# --- the Python target ---------------------------------------------------------------------------------------------


def test_the_python_target_gets_the_arguments_and_the_verified_caller_as_context(
        registry: ToolRegistry, context: ToolContext) -> None:
    model_says = {"subscriber_id": "4411", "tenant_id": "globex"}
    outcome = run(registry, context, "echo", model_says)
    assert outcome.record["status"] == "ok" and outcome.record["arguments"] == model_says
    caller = {"tenant_id": "acme", "user_id": "user-1", "session_id": "01SESSION"}
    assert outcome.record["result"] == {"arguments": model_says, "context": caller}
    [(arguments, given)] = custom_tool_targets.CALLS
    assert given == caller and arguments["changed_by_the_target"] is True, "the target had its own copy"


def test_the_sample_line_status_is_deterministic_per_tenant_and_subscriber(registry: ToolRegistry,
                                                                           context: ToolContext) -> None:
    first = run(registry, context, "line_status", {"subscriber_id": "4411"}).record["result"]
    assert first == run(registry, context, "line_status", {"subscriber_id": "4411"}).record["result"]
    assert first["status"] in {"up", "degraded", "down"} and first["tenant_id"] == "acme"
    assert first["subscriber_id"] == "4411" and first["checked_for"] == "user-1"


@pytest.mark.parametrize(("name", "says"), [
    ("broken", "broken failed"),
    ("listy", "could not be read"),
    ("not_importable", "not_importable failed"),
    ("not_callable", "not_callable failed"),
])
def test_a_python_target_that_fails_is_an_error_without_its_text(registry: ToolRegistry, context: ToolContext,
                                                                   name: str, says: str) -> None:
    error_of(run(registry, context, name, {"subscriber_id": "4411"}), says)


def test_a_python_target_is_imported_on_its_first_call_not_at_start(fake_lambda: FakeLambda,
                                                                     context: ToolContext) -> None:
    sys.modules.pop("custom_tool_targets_lazy", None)
    lazy = tool("lazy", "custom_tool_targets_lazy:echo", LOOSE)
    settings = Settings.from_environ({"CUSTOM_TOOLS": json.dumps([lazy]),
                                      "TOOLS_BY_SESSION_TYPE": '{"network_diagnostics": ["lazy"]}'})
    registry = ToolRegistry(settings)  # a module that does not exist yet: no error at start
    error_of(run(registry, context, "lazy", {"subscriber_id": "4411"}), "lazy failed")
    sys.modules["custom_tool_targets_lazy"] = custom_tool_targets
    try:
        assert run(registry, context, "lazy", {"subscriber_id": "4411"}).record["status"] == "ok"
    finally:
        del sys.modules["custom_tool_targets_lazy"]


# --- in a chat turn ------------------------------------------------------------------------------------------------


def diagnostics(api: Api, message: str) -> Any:
    reply = api.invoke("chat", {"message": message, "session_id": None, "session_type": "network_diagnostics"})
    assert reply.status == 200, reply.body
    return reply


def test_the_offline_model_calls_the_python_custom_tool_and_answers_with_its_result(
        api: Api, dynamodb: Any, provider: ScriptedProvider) -> None:
    reply = diagnostics(api, "Please use line_status 4411")
    (call,) = reply.body["function_calls"]
    assert (call["name"], call["status"], call["arguments"]) == ("line_status", "ok", {"subscriber_id": "4411"})
    assert call["result"]["tenant_id"] == "acme" and call["result"]["checked_for"] == "user-1"
    assert reply.body["message"].startswith("The line_status call returned: {")
    offered = {t.name: t for t in provider.history[0].tools}
    assert offered["line_status"].parameters == SUBSCRIBER and offered["line_status"].strict
    assert len(provider.history) == 2
    history = api.invoke("get_history", session_id=reply.body["session_id"]).body["messages"]
    assert history[-1]["function_calls"] == reply.body["function_calls"]
    assert_invariant(dynamodb, "ai-chat")


def test_a_model_calling_the_lambda_tool_in_a_turn_gets_its_result_and_the_function_the_callers_identity(
        api: Api, provider: ScriptedProvider, fake_lambda: FakeLambda, dynamodb: Any) -> None:
    fake_lambda.answer_next(Reply(b'{"status": "down"}'))
    provider.answer_next(asks_for("lookup_line", {"subscriber_id": "4411"}))
    reply = diagnostics(api, "is my line down?")
    (call,) = reply.body["function_calls"]
    assert (call["status"], call["result"]) == ("ok", {"status": "down"})
    (invocation,) = fake_lambda.invocations
    assert invocation.payload == {"tenant_id": "acme", "user_id": "user-1", "session_id": reply.body["session_id"],
                                  "arguments": {"subscriber_id": "4411"}}
    (result,) = provider.history[1].messages[-1].tool_results
    assert json.loads(result.content) == {"status": "down"} and not result.is_error
    assert_invariant(dynamodb, "ai-chat")


def test_a_custom_tool_not_offered_to_the_session_type_is_refused_and_not_invoked(
        api: Api, provider: ScriptedProvider, fake_lambda: FakeLambda) -> None:
    provider.answer_next(asks_for("lookup_line", {"subscriber_id": "4411"}))
    reply = api.chat("is my line down?")  # customer_support: the built-ins only
    (call,) = reply.body["function_calls"]
    assert call["status"] == "error" and "not available in this conversation" in call["result"]["error"]
    assert fake_lambda.invocations == []
    assert not {"lookup_line", "line_status"} & {t.name for t in provider.history[0].tools}


def test_the_chat_service_built_by_wiring_runs_custom_tools(settings: Settings, dynamodb: Any,
                                                            provider: ScriptedProvider, clock: FakeClock) -> None:
    services = wiring.build(settings, dynamodb=dynamodb, providers={"offline": provider}, clock=clock)
    reply = services.chat.send(CALLER, ChatRequest(message="use LINE_STATUS 77", session_type="network_diagnostics"))
    assert [(c.name, c.status) for c in reply.function_calls] == [("line_status", "ok")]


# --- the offline model ---------------------------------------------------------------------------------------------


def offline_call(text: str, *tools: ToolSpec) -> ToolCall | None:
    completion = OfflineProvider().complete(CompletionRequest(
        model="offline-1", system="s", max_tokens=200, temperature=None, messages=(Turn("user", text),),
        tools=tools))
    return completion.tool_calls[0] if completion.tool_calls else None


def test_use_toolname_makes_the_offline_model_call_it_with_its_required_strings_from_the_words_after() -> None:
    two = ToolSpec("move_line", "d", {"type": "object", "required": ["from_port", "to_port", "days"], "properties": {
        "from_port": {"type": "string"}, "to_port": {"type": ["string", "null"]}, "days": {"type": "integer"}}})
    line = ToolSpec("line_status", "d", SUBSCRIBER)
    call = offline_call("Could you Use line_status: 4411 today", line, two)
    assert call is not None and (call.name, json.loads(call.arguments)) == ("line_status",
                                                                           {"subscriber_id": "4411 today"})
    call = offline_call("use move_line A1 B2 now please", line, two)
    assert call is not None and json.loads(call.arguments) == {"from_port": "A1", "to_port": "B2 now please"}
    call = offline_call("use line_status", line)
    assert call is not None and json.loads(call.arguments) == {"subscriber_id": ""}


def test_the_offline_model_does_not_call_a_tool_that_is_not_offered_or_only_named_in_passing() -> None:
    line = ToolSpec("line_status", "d", SUBSCRIBER)
    assert offline_call("use line_status 4411") is None
    assert offline_call("use line_status_v2 4411", line) is None
    assert offline_call("what does line_status mean?", line) is None
    assert offline_call("because line_status 4411", line) is None


# --- imports: jsonschema and the tools only in chat, and only with custom tools ------------------------------------


# jsonschema and the tools' modules: loaded by the chat function alone, and jsonschema only with custom tools.
WATCHED = ("jsonschema", "aichat.tools", "aichat.tools.custom_schema", "aichat.tools.lambda_target",
           "aichat.tools.python_target", "aichat.tools.samples")


WITH_CUSTOM_TOOLS = {"CUSTOM_TOOLS": json.dumps(CUSTOM[:3]),
                     "TOOLS_BY_SESSION_TYPE": json.dumps({"network_diagnostics": ["line_status", "lookup_line"]})}


@pytest.mark.parametrize("function", NON_MODEL_FUNCTIONS)
def test_no_function_but_chat_imports_jsonschema_or_the_tools_even_with_custom_tools_configured(
        function: str) -> None:
    assert loaded_after_import(function, WATCHED, **WITH_CUSTOM_TOOLS) == []


def test_chat_imports_jsonschema_at_init_only_when_custom_tools_are_configured_and_their_targets_on_first_call(
        ) -> None:
    assert loaded_after_import("chat", WATCHED) == ["aichat.tools"]
    assert loaded_after_import("chat", WATCHED, **WITH_CUSTOM_TOOLS) == [
        "jsonschema", "aichat.tools", "aichat.tools.custom_schema", "aichat.tools.lambda_target",
        "aichat.tools.python_target"]
