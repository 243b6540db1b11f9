"""Log lines a person can follow: each carries the Lambda and API Gateway request ids, the tenant and the session;
a refusal, a provider failure and a settle are one searchable line each; no line holds message text or keys."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths
from conftest import Api, ScriptedProvider, load_event
from fresh_import import loaded_after_import

from aichat.core import logs
from aichat.core.errors import ProviderTimeout

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "My router password is hunter2-quartz, why is the line down?"
CONTEXT_VALUE = "customer-plan-platinum-7781"
TOKEN_CLAIM_EMAIL = "jane.doe@acme-isp.example"  # in the event's claims and its Authorization header


@dataclass
class Context:
    """What Lambda passes a handler (the fields Powertools reads, and the remaining time the chat reads)."""

    aws_request_id: str
    function_name: str = "ChatFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ChatFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def invoke(api: Api, name: str, body: Any = None, *, request_id: str, lambda_request_id: str | None,
           tenant: str = "acme", session_id: str | None = None) -> dict[str, Any]:
    """Call functions/<name>'s handler as Lambda does: an API Gateway event with its request id, and a context."""
    event = load_event(name)
    event["requestContext"]["requestId"] = request_id
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims.update(sub="user-1", tenant_id=tenant, roles="[]")
    if session_id is not None:
        event["pathParameters"]["session_id"] = session_id
    if body is not None:
        event["body"] = json.dumps(body)
    context = None if lambda_request_id is None else Context(aws_request_id=lambda_request_id)
    result: dict[str, Any] = api._module(name).lambda_handler(event, context)
    return result


def chat(api: Api, message: str = MESSAGE, session_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return invoke(api, "chat", {"message": message, "session_id": session_id, "context": {"plan": CONTEXT_VALUE}},
                  **kw)


def log_lines(out: str) -> list[dict[str, Any]]:
    """The logger's JSON lines on stdout (not the metrics' EMF lines)."""
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [r for r in records if "_aws" not in r]


def the_line(lines: list[dict[str, Any]], message: str) -> dict[str, Any]:
    (line,) = [r for r in lines if r["message"] == message]
    return line


def probing(api: Api, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """functions/<name>'s endpoint writes a line "probe" first: what any line of that invocation would carry."""
    module = api._module(name)
    endpoint = getattr(module, name)

    def probe(request: Any, **kw: Any) -> Any:
        logs.logger().info("probe")
        return endpoint(request, **kw)

    monkeypatch.setattr(module, name, probe)


def test_every_line_of_a_chat_carries_both_request_ids_tenant_and_session_never_its_text(
        api: Api, provider: ScriptedProvider, capsys: pytest.CaptureFixture[str]) -> None:
    session_id = json.loads(chat(api, request_id="apigw-1", lambda_request_id="lambda-1")["body"])["session_id"]
    provider.fail_next(ProviderTimeout("The model did not answer in time."))
    capsys.readouterr()
    reply = chat(api, session_id=session_id, request_id="apigw-2", lambda_request_id="lambda-2")
    assert reply["statusCode"] == 504
    out = capsys.readouterr().out
    lines = log_lines(out)
    assert {r["message"] for r in lines} >= {"provider failed", "request failed"}
    for line in lines:
        assert line["correlation_id"] == "apigw-2", line
        assert line["function_request_id"] == "lambda-2", line
        assert (line["tenant_id"], line["user_id"], line["session_id"]) == ("acme", "user-1", session_id), line
        assert line["route"] == "POST /api/v1/ai/chat" and line["service"] == "ai-chat"
        assert line["function_name"] == "ChatFunction" and line["cold_start"] in (True, False)
    for secret in (MESSAGE, "hunter2", CONTEXT_VALUE, TOKEN_CLAIM_EMAIL, "Bearer", "eyJ"):
        assert secret not in out


def test_a_settle_is_one_line_with_provider_model_tokens_cost_and_ids(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    reply = json.loads(chat(api, request_id="apigw-3", lambda_request_id="lambda-3")["body"])
    out = capsys.readouterr().out
    settled = the_line(log_lines(out), "turn settled")
    meta = reply["metadata"]
    assert settled["level"] == "INFO"
    assert (settled["provider"], settled["model"]) == ("offline", "offline-1")
    assert settled["tokens"] == meta["tokens"] and settled["output_tokens"] == meta["output_tokens"]
    assert settled["cost_micros"] / 1_000_000 * 100 == pytest.approx(meta["cost_cents"])
    assert settled["message_id"] == meta["message_id"]
    assert (settled["tenant_id"], settled["session_id"]) == ("acme", reply["session_id"])
    assert (settled["correlation_id"], settled["function_request_id"]) == ("apigw-3", "lambda-3")
    assert MESSAGE not in out and CONTEXT_VALUE not in out and reply["message"] not in out


def test_a_provider_failure_is_one_line_with_provider_model_code_tenant_and_session(
        api: Api, provider: ScriptedProvider, capsys: pytest.CaptureFixture[str]) -> None:
    provider.fail_next(ProviderTimeout("The model did not answer in time."))
    capsys.readouterr()
    reply = json.loads(chat(api, request_id="apigw-4", lambda_request_id="lambda-4")["body"])
    failed = the_line(log_lines(capsys.readouterr().out), "provider failed")
    assert failed["level"] == "WARNING"
    assert (failed["provider"], failed["model"], failed["code"]) == ("offline", "offline-1", "provider_timeout")
    assert (failed["tenant_id"], failed["session_id"]) == ("acme", reply["session_id"])
    assert (failed["correlation_id"], failed["function_request_id"]) == ("apigw-4", "lambda-4")


def test_a_refusal_is_one_line_with_the_limit_tenant_and_session_and_no_keys_of_the_previous_request(
        api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = json.loads(chat(api, request_id="apigw-5", lambda_request_id="lambda-5")["body"])["session_id"]
    api.services.store._db.put_item(TableName="ai-chat", Item={
        "PK": {"S": "TENANT#acme"}, "SK": {"S": "CONFIG"}, "daily_cost_limit_cents": {"N": "0"}})
    capsys.readouterr()
    probing(api, "chat", monkeypatch)
    assert chat(api, request_id="apigw-6", lambda_request_id="lambda-6")["statusCode"] == 400  # a first message
    monkeypatch.undo()
    assert chat(api, session_id=session_id, request_id="apigw-7", lambda_request_id="lambda-7")["statusCode"] == 400
    lines = log_lines(capsys.readouterr().out)
    first, existing = [r for r in lines if r["message"] == "chat refused"]
    assert first["code"] == "daily_cost_limit_exceeded" and first["tenant_id"] == "acme" and "session_id" not in first
    # A new invocation starts clean: no line of a refused first message names the session the last turn logged.
    assert "session_id" not in the_line(lines, "probe")
    assert (first["correlation_id"], first["function_request_id"]) == ("apigw-6", "lambda-6")
    assert existing["level"] == "INFO" and existing["code"] == "daily_cost_limit_exceeded"
    assert (existing["tenant_id"], existing["session_id"]) == ("acme", session_id)
    assert (existing["correlation_id"], existing["function_request_id"]) == ("apigw-7", "lambda-7")


def test_a_path_session_and_the_caller_are_on_the_lines_of_every_route(
        api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = json.loads(chat(api, request_id="apigw-8", lambda_request_id="lambda-8")["body"])["session_id"]
    probing(api, "get_history", monkeypatch)
    invoke(api, "get_history", request_id="apigw-9", lambda_request_id="lambda-9", session_id=session_id)
    probe = the_line(log_lines(capsys.readouterr().out), "probe")
    assert (probe["correlation_id"], probe["function_request_id"]) == ("apigw-9", "lambda-9")
    assert (probe["tenant_id"], probe["user_id"], probe["session_id"]) == ("acme", "user-1", session_id)
    assert probe["route"] == "GET /api/v1/ai/sessions/{session_id}/history"


def test_without_a_lambda_context_lines_still_carry_the_api_request_id(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    chat(api, request_id="apigw-10", lambda_request_id="lambda-10")
    capsys.readouterr()
    chat(api, request_id="apigw-11", lambda_request_id=None)  # as tests and scripts call a handler
    settled = the_line(log_lines(capsys.readouterr().out), "turn settled")
    assert settled["correlation_id"] == "apigw-11" and "function_request_id" not in settled


def test_a_caller_without_a_tenant_is_answered_as_before_and_logged_without_one(
        api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    event = load_event("get_history")
    event["requestContext"]["authorizer"]["jwt"]["claims"].pop("tenant_id")
    event["queryStringParameters"] = {"limit": "0"}
    probing(api, "get_history", monkeypatch)
    reply = api._module("get_history").lambda_handler(event, Context(aws_request_id="lambda-12"))
    assert reply["statusCode"] == 422, "the endpoint's own order of checks stands"
    probe = the_line(log_lines(capsys.readouterr().out), "probe")
    assert "tenant_id" not in probe and probe["function_request_id"] == "lambda-12"


def test_a_scheduled_run_is_correlated_by_its_eventbridge_event_id_and_only_the_first_is_a_cold_start(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    @logs.scheduled_handler
    def handler(event: dict[str, Any], context: Any) -> None:
        logs.logger().info("ran")

    monkeypatch.setattr(logs, "_cold_start", True)  # a new container
    for request_id in ("lambda-13", "lambda-14"):
        handler(load_event("cost_rollup"), Context(aws_request_id=request_id, function_name="CostRollupFunction"))
    first, second = [r for r in log_lines(capsys.readouterr().out) if r["message"] == "ran"]
    assert first["correlation_id"] == second["correlation_id"] == load_event("cost_rollup")["id"]
    assert (first["function_request_id"], first["function_name"], first["cold_start"]) == (
        "lambda-13", "CostRollupFunction", True)
    assert (second["function_request_id"], second["cold_start"]) == ("lambda-14", False)


def test_the_correlation_paths_are_powertools_own() -> None:
    assert logs.API_GATEWAY_REQUEST_ID == correlation_paths.API_GATEWAY_HTTP
    assert logs.EVENTBRIDGE_EVENT_ID == correlation_paths.EVENT_BRIDGE


def test_a_line_carries_every_field_powertools_inject_lambda_context_adds_with_the_same_values(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Logger

    monkeypatch.setattr(logs, "_cold_start", False)
    monkeypatch.setattr("aws_lambda_powertools.logging.logger.is_cold_start", False)
    event, context = load_event("get_history"), Context(aws_request_id="lambda-21")
    powertools = Logger(service="inject-lambda-context-reference", stream=sys.stdout)  # not ours: its own keys

    @powertools.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def theirs(event: dict[str, Any], context: Any) -> None:
        powertools.info("theirs")

    @logs.api_handler
    def ours(event: dict[str, Any], context: Any) -> None:
        logs.logger().info("ours")

    theirs(event, context)
    ours(event, context)
    lines = log_lines(capsys.readouterr().out)
    their_line, our_line = the_line(lines, "theirs"), the_line(lines, "ours")
    added = set(their_line) - {"level", "location", "message", "timestamp", "service", "sampling_rate"}
    assert added >= {"function_request_id", "correlation_id", "function_name", "cold_start"}
    assert {k: our_line.get(k) for k in added} == {k: their_line[k] for k in added}


def test_keys_set_outside_an_invocation_go_nowhere(capsys: pytest.CaptureFixture[str]) -> None:
    logs.request_keys(tenant_id="acme", session_id="01JD0000000000000000000000")
    logs.logger().info("probe")
    probe = the_line(log_lines(capsys.readouterr().out), "probe")
    assert "tenant_id" not in probe and "session_id" not in probe and "correlation_id" not in probe


def test_a_cold_start_that_logs_nothing_does_not_build_the_logger() -> None:
    """Powertools' package (41 modules) is imported by the first line a container writes, not at init."""
    assert loaded_after_import("create_session", ("aws_lambda_powertools",)) == []
