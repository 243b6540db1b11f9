"""The stack as CloudFormation receives it: template.yaml after the SAM transform (`scripts/transform-template.sh`,
aws-sam-translator, nothing sent to AWS). What SAM generates (the API's routes and integrations, the alias and
version SnapStart needs, the permissions) is checked here, where a template test can only see what was asked for."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aichat.api.routes import ROUTES, ApiRoute

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TRANSFORMED = ROOT / ".aws-sam" / "transformed.json"
DOCS_PATHS = {"/openapi.json", "/docs", "/redoc", "/docs/assets/{asset}"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    """The transformed template's resources; transformed afresh when template.yaml is newer (`make template` does)."""
    if not TRANSFORMED.exists() or TRANSFORMED.stat().st_mtime < TEMPLATE.stat().st_mtime:
        subprocess.run(["bash", str(ROOT / "scripts" / "transform-template.sh")], cwd=ROOT, check=True, timeout=900)
    resources: dict[str, Any] = json.loads(TRANSFORMED.read_text(encoding="utf-8"))["Resources"]
    return resources


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def paths(resources: dict[str, Any]) -> dict[str, Any]:
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    paths: dict[str, Any] = api["Body"]["paths"]
    return paths


def invoked(integration: dict[str, Any]) -> str:
    """The logical id an integration's URI invokes: a function, or a function's alias."""
    uri = integration["uri"]["Fn::Sub"]
    return str(uri.split("/functions/${", 1)[1].split("}", 1)[0].split(".Arn", 1)[0])


def test_the_deployed_api_has_exactly_the_route_tables_routes_and_the_docs_pages(paths: dict[str, Any]) -> None:
    deployed = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert deployed == {(r.method, r.path) for r in ROUTES} | {("GET", p) for p in DOCS_PATHS}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_route_invokes_its_function_behind_the_jwt_authorizer_with_payload_2_0(
        paths: dict[str, Any], resources: dict[str, Any], route: ApiRoute) -> None:
    operation = paths[route.path][route.method.lower()]
    integration = operation["x-amazon-apigateway-integration"]
    assert (integration["type"], integration["payloadFormatVersion"]) == ("aws_proxy", "2.0")
    target = invoked(integration)
    assert target == route.function or resources[target]["Properties"]["FunctionName"] == {"Ref": route.function}
    assert operation["security"] == [{"JwtAuthorizer": []}]


def test_the_docs_pages_are_the_only_operations_without_the_authorizer(paths: dict[str, Any]) -> None:
    authorized = [{"JwtAuthorizer": []}]
    public = {p for p, methods in paths.items() for op in methods.values() if op.get("security") != authorized}
    assert public == DOCS_PATHS


def test_chat_is_served_by_the_live_alias_of_a_published_version_that_snapstart_restores(
        paths: dict[str, Any], resources: dict[str, Any]) -> None:
    target = invoked(paths["/api/v1/ai/chat"]["post"]["x-amazon-apigateway-integration"])
    alias = resources[target]
    assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert resources[version_id]["Type"] == "AWS::Lambda::Version"
    assert resources[version_id]["Properties"]["FunctionName"] == {"Ref": "ChatFunction"}
    chat = resources["ChatFunction"]["Properties"]
    assert chat["SnapStart"] == {"ApplyOn": "PublishedVersions"}, "without it the version is never snapshotted"
    assert chat["Runtime"] == "python3.12", "SnapStart for Python needs 3.12 or later"


def test_the_stream_is_served_by_the_live_alias_snapstart_restores_and_the_adapter_calls_the_apps_restore_hook(
        resources: dict[str, Any]) -> None:
    from aichat.api.stream_app import AFTER_RESTORE_PATH

    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    integration = api["Body"]["paths"]["/api/v1/ai/chat/stream"]["post"]["x-amazon-apigateway-integration"]
    target = invoked(integration)
    alias = resources[target]
    assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionName"] == {"Ref": "ChatStreamFunction"}
    stream = resources["ChatStreamFunction"]["Properties"]
    assert stream["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert stream["Runtime"] == "python3.12", "SnapStart for Python needs 3.12 or later"
    assert stream["Environment"]["Variables"]["AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"] == AFTER_RESTORE_PATH
    layers = json.dumps(stream["Layers"])
    assert "LambdaAdapterLayerArm64:30" in layers, "the adapter that bridges SnapStart's restore to the app"


def test_api_gateway_may_invoke_exactly_what_each_integration_calls(
        paths: dict[str, Any], resources: dict[str, Any]) -> None:
    called = {invoked(op["x-amazon-apigateway-integration"]) for methods in paths.values() for op in methods.values()}
    # A route's permission names its function by Ref, the stream front's authorizer's by GetAtt.
    permitted = {p["FunctionName"].get("Ref") or p["FunctionName"]["Fn::GetAtt"][0]
                 for p in of_type(resources, "AWS::Lambda::Permission").values()
                 if p["Principal"] == "apigateway.amazonaws.com"}
    assert called <= permitted, f"invoked without permission: {called - permitted}"


@pytest.mark.parametrize("function", ["ChatFunction", "ChatStreamFunction"])
def test_each_model_functions_role_may_invoke_the_custom_tool_functions_only_under_their_condition(
        resources: dict[str, Any], function: str) -> None:
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = resources[role]["Properties"]["Policies"]
    (policy,) = [p for p in policies if "lambda:" in json.dumps(p)]
    condition, granted, otherwise = policy["Fn::If"]
    assert (condition, otherwise) == ("HasCustomToolFunctions", {"Ref": "AWS::NoValue"})
    assert granted["PolicyDocument"]["Statement"] == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                                       "Resource": {"Ref": "CustomToolFunctionArns"}}]
    conditions = json.loads(TRANSFORMED.read_text(encoding="utf-8"))["Conditions"]
    assert "HasCustomToolFunctions" in conditions
    model_roles = {resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in ("ChatFunction", "ChatStreamFunction")}
    others = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role" and name not in model_roles
              and "lambda:InvokeFunction" in json.dumps(r["Properties"].get("Policies", []))]
    assert others == [], "no other function may invoke Lambda functions"


@pytest.mark.parametrize(("function", "action"), [("ChatFunction", "bedrock:InvokeModel"),
                                                  ("ChatStreamFunction", "bedrock:InvokeModelWithResponseStream")])
def test_each_model_function_may_call_bedrock_only_on_the_arns_given_and_its_guardrail_only(
        resources: dict[str, Any], function: str, action: str) -> None:
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [p for p in resources[role]["Properties"]["Policies"] if "bedrock:" in json.dumps(p)]
    by_condition = {p["Fn::If"][0]: p["Fn::If"] for p in policies}
    assert set(by_condition) == {"HasBedrockModels", "HasBedrockGuardrail"}
    for condition, _granted, otherwise in by_condition.values():
        assert otherwise == {"Ref": "AWS::NoValue"}, f"{condition}: no statement at all when not given"
    (models,) = by_condition["HasBedrockModels"][1]["PolicyDocument"]["Statement"]
    assert models == {"Effect": "Allow", "Action": [action], "Resource": {"Ref": "BedrockModelArns"}}
    (guardrail,) = by_condition["HasBedrockGuardrail"][1]["PolicyDocument"]["Statement"]
    assert guardrail["Action"] == ["bedrock:ApplyGuardrail"]
    assert guardrail["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:"
                                                "guardrail/${BedrockGuardrailId}"}
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    assert (variables["BEDROCK_GUARDRAIL_ID"], variables["BEDROCK_GUARDRAIL_VERSION"]) == (
        {"Ref": "BedrockGuardrailId"}, {"Ref": "BedrockGuardrailVersion"})
    model_roles = {resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in ("ChatFunction", "ChatStreamFunction")}
    others = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role" and name not in model_roles
              and "bedrock:" in json.dumps(r["Properties"])]
    assert others == [], "no other function may call Bedrock"


def _publishes_to_escalation_topic(role: dict[str, Any]) -> bool:
    statements = [s for p in role["Properties"].get("Policies", []) if isinstance(p, dict) and "PolicyDocument" in p
                  for s in p["PolicyDocument"]["Statement"]]
    return any("sns:Publish" in s["Action"] and "EscalationTopic" in json.dumps(s["Resource"]) for s in statements)


def test_both_ways_a_session_is_escalated_may_notify_support_staff_and_no_other_function_may(
        resources: dict[str, Any]) -> None:
    # POST .../escalate, and the model's escalate_to_human in a chat turn: an escalation it cannot announce is undone.
    roles = {name.removesuffix("Role"): r for name, r in resources.items()
             if r["Type"] == "AWS::IAM::Role" and name.endswith("FunctionRole")}
    publishers = {name for name, role in roles.items() if _publishes_to_escalation_topic(role)}
    assert publishers == {"ChatFunction", "ChatStreamFunction", "EscalateFunction"}
