"""The stream front's wiring, which cannot run here: a REST API route that streams, the Lambda Web Adapter around the
streaming function's ASGI app, the token authorizer on the route, throttling, access logs, CORS and the StreamUrl.

Checked on template.yaml and on what the SAM transform makes of it (CloudFormation's input), since neither API
Gateway nor the adapter (a binary in a layer) runs on these machines. The app itself is the one `make dev` serves
and tests/unit/test_stream_app.py drives as the adapter does.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from test_template import functions
from test_transformed_template import of_type, resources  # noqa: F401 - resources is a fixture

from aichat.api.routes import STREAM_ROUTES
from aichat.api.stream_app import HEALTH_PATH, STREAM_PATH
from aichat.core.settings import Settings
from aichat.turn.chat_service import STREAM_SETTLE_SECONDS
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]
(ROUTE,) = STREAM_ROUTES


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def stream_function(template: dict[str, Any]) -> dict[str, Any]:
    return functions(template)[ROUTE.function]


@pytest.fixture(scope="module")
def stream_api(template: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = template["Resources"]["StreamApi"]
    assert api["Type"] == "AWS::Serverless::Api", "a REST API: an HTTP API cannot stream a response"
    properties: dict[str, Any] = api["Properties"]
    return properties


def transformed_operation(resources: dict[str, Any], method: str) -> dict[str, Any]:  # noqa: F811
    api = resources["StreamApi"]["Properties"]
    operation: dict[str, Any] = api["Body"]["paths"][ROUTE.path][method]
    return operation


def test_the_stream_route_is_the_route_tables_and_streams_its_functions_response(
        stream_function: dict[str, Any], resources: dict[str, Any]) -> None:  # noqa: F811
    (event,) = stream_function["Events"].values()
    assert event["Type"] == "Api"
    assert event["Properties"] == {"RestApiId": {"Ref": "StreamApi"}, "Method": ROUTE.method, "Path": ROUTE.path,
                                   "ResponseTransferMode": "RESPONSE_STREAM"}
    assert stream_function["CodeUri"] == f"functions/{ROUTE.code}/" and ROUTE.path == STREAM_PATH
    integration = transformed_operation(resources, "post")["x-amazon-apigateway-integration"]
    assert (integration["type"], integration["httpMethod"]) == ("aws_proxy", "POST")
    assert integration["responseTransferMode"] == "STREAM"
    uri = integration["uri"]["Fn::Sub"]
    # The function's live alias: the published version SnapStart restores (test_transformed_template.py).
    alias = f"{ROUTE.function}Aliaslive"
    assert uri.endswith(f"/2021-11-15/functions/${{{alias}}}/response-streaming-invocations"), uri
    permissions = [p for p in of_type(resources, "AWS::Lambda::Permission").values()
                   if p["FunctionName"] == {"Ref": alias}]
    assert [p["Principal"] for p in permissions] == ["apigateway.amazonaws.com"]


def test_the_streaming_function_runs_its_asgi_app_under_the_lambda_web_adapter(
        stream_function: dict[str, Any], resources: dict[str, Any]) -> None:  # noqa: F811
    variables = stream_function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap", "the adapter's wrapper starts the handler script"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == HEALTH_PATH
    # The handler is the start-up script: executable, serving the function's ASGI app on the adapter's port.
    script = ROOT / "functions" / ROUTE.code / stream_function["Handler"]
    assert script.is_file() and os.access(script, os.X_OK), f"{script} must be an executable file"
    text = script.read_text()
    assert re.search(r"exec python -m uvicorn .*--port \"\$\{AWS_LWA_PORT:-8080\}\"", text, re.S)
    assert text.rstrip().endswith("app:app") and variables["AWS_LWA_PORT"] == "8080"
    assert "uvicorn" in (ROOT / "functions" / ROUTE.code / "requirements.txt").read_text()
    # The layers as Lambda gets them: the common layer, the providers' SDKs, then the adapter (arm64, AWS's account)
    # unless overridden.
    layers = resources[ROUTE.function]["Properties"]["Layers"]
    assert layers[0]["Ref"].startswith("CommonLayer") and layers[1]["Ref"].startswith("ProvidersLayer")
    condition, given, published = layers[2]["Fn::If"]
    assert (condition, given) == ("HasAdapterLayerArn", {"Ref": "LambdaWebAdapterLayerArn"})
    assert re.fullmatch(r"arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:753240598075:layer:"
                        r"LambdaAdapterLayerArm64:\d+", published["Fn::Sub"])
    assert resources[ROUTE.function]["Properties"]["Architectures"] == ["arm64"]


def test_the_streaming_function_outlives_the_longest_stream_deadline_and_its_settle(
        template: dict[str, Any], stream_function: dict[str, Any]) -> None:
    most = next(m.le for m in Settings.model_fields["STREAM_DEADLINE_SECONDS"].metadata if getattr(m, "le", None))
    parameter = template["Parameters"]["StreamDeadlineSeconds"]
    assert parameter["MaxValue"] <= most and parameter["Default"] == Settings().STREAM_DEADLINE_SECONDS
    assert stream_function["Environment"]["Variables"]["STREAM_DEADLINE_SECONDS"] == {"Ref": "StreamDeadlineSeconds"}
    # Lambda keeps running after the client leaves; the turn must settle before the invocation ends.
    assert most + STREAM_SETTLE_SECONDS < stream_function["Timeout"] <= 900


def test_the_stream_route_needs_a_token_the_authorizer_checks_against_the_http_apis_issuer_and_audience(
        template: dict[str, Any], stream_api: dict[str, Any],
        resources: dict[str, Any]) -> None:  # noqa: F811
    auth = stream_api["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["StreamAuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "TOKEN" and authorizer["Identity"]["Header"] == "Authorization"
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False, "a browser's preflight carries no token"
    assert transformed_operation(resources, "post")["security"] == [{auth["DefaultAuthorizer"]: []}]
    assert "security" not in transformed_operation(resources, "options")
    scheme = resources["StreamApi"]["Properties"]["Body"]["securityDefinitions"][auth["DefaultAuthorizer"]]
    assert scheme["x-amazon-apigateway-authtype"] == "custom"
    uri, arguments = scheme["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"]
    assert uri.endswith("/functions/${__FunctionArn__}/invocations")
    assert arguments == {"__FunctionArn__": {"Fn::GetAtt": ["StreamAuthorizerFunction", "Arn"]}}
    # The issuer and audience the authorizer is given are exactly what the HTTP API's JWT authorizer checks.
    jwt = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["JWT_ISSUER"] == jwt["issuer"] and [variables["JWT_AUDIENCE"]] == jwt["audience"]
    assert functions(template)["StreamAuthorizerFunction"].get("Policies") is None, "the authorizer reads no table"


def test_the_stream_front_throttles_every_caller_together_and_logs_each_request_as_json(
        stream_api: dict[str, Any], resources: dict[str, Any]) -> None:  # noqa: F811
    (settings,) = stream_api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
        {"Ref": "ApiThrottlingRateLimit"}, {"Ref": "ApiThrottlingBurstLimit"})
    logs = stream_api["AccessLogSetting"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["StreamAccessLogGroup", "Arn"]}
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", logs["Format"]))
    assert {"requestId", "lambdaRequestId", "status", "sub", "sourceIp", "authorizerError"} <= set(line)
    assert "$context.authorizer.principalId" in logs["Format"] and "email" not in logs["Format"]
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    assert stage["AccessLogSetting"]["DestinationArn"] == logs["DestinationArn"]
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    group = resources["StreamAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}


def test_the_widgets_origin_may_call_the_stream_with_its_idempotency_key_and_read_api_gateways_own_refusals(
        stream_api: dict[str, Any], stream_function: dict[str, Any]) -> None:
    cors = stream_api["Cors"]
    assert cors["AllowOrigin"] == {"Fn::Sub": "'${AllowedOrigin}'"}
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= set(cors["AllowHeaders"].strip("'").split(","))
    assert "POST" in cors["AllowMethods"]
    # The proxy integration adds no CORS header to the function's own answers: the app adds it from this setting.
    assert stream_function["Environment"]["Variables"]["STREAM_ALLOWED_ORIGIN"] == {"Ref": "AllowedOrigin"}
    responses = stream_api["GatewayResponses"]
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${AllowedOrigin}'"}, kind
    assert json.loads(responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"]) == {
        "message": "Unauthorized"}, "the same body as the HTTP API's 401"


def test_the_stack_outputs_the_stream_url_the_widget_is_given(
        template: dict[str, Any], stream_api: dict[str, Any]) -> None:
    url = template["Outputs"]["StreamUrl"]["Value"]["Fn::Sub"]
    assert url == (f"https://${{StreamApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
                   f"{stream_api['StageName']}{STREAM_PATH}")
