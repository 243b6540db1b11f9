"""The OpenAPI document against template.yaml and the layer: every route, with its request, response and errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from aichat.api import openapi, routes
from aichat.api.openapi import build_spec
from aichat.core import errors, models
from localdev.gateway import gateway_from_template
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_spec()


def template_routes() -> dict[tuple[str, str], bool]:
    """(method, path) -> whether the JWT authorizer guards it, for every HttpApi route of template.yaml."""
    gateway = gateway_from_template(load_template(ROOT / "template.yaml"), ROOT)
    return {(r.method.lower(), r.path): r.authorized for r in gateway.routes}


def resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict), ref
    return node


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_the_document_has_exactly_the_routes_of_template_yaml_and_the_streaming_routes(spec: dict[str, Any]) -> None:
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    streaming = {(r.method.lower(), r.path) for r in routes.STREAM_ROUTES}
    assert documented == set(template_routes()) | streaming


def test_a_streaming_route_documents_its_event_stream_its_request_and_its_json_errors(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/ai/chat/stream"]["post"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ChatRequest")
    assert {"400", "401", "404", "422", "503"} <= set(operation["responses"])
    assert "useChat" in operation["description"]


def test_every_api_route_documents_its_request_response_and_error_schemas(spec: dict[str, Any]) -> None:
    for (method, path), authorized in template_routes().items():
        if not authorized:
            continue
        operation = spec["paths"][path][method]
        route = next(r for r in routes.ROUTES if (r.method.lower(), r.path) == (method, path))
        if method == "post":
            assert route.request is not None, f"{path}: a POST takes a body"
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert resolve(spec, body["$ref"])["title"] == route.request.__name__
        if route.response is None:
            assert route.status == 204, f"{path}: only No Content has no body"
            assert "content" not in operation["responses"]["204"], path
        else:
            success = operation["responses"][str(route.status)]["content"]["application/json"]["schema"]
            success_ref = success["items"]["$ref"] if success.get("type") == "array" else success["$ref"]
            assert resolve(spec, success_ref)["title"] == route.response.__name__, path
        errors_by_status = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        takes_input = route.request is not None or route.params or "{" in path
        expected = {"401", "422"} if takes_input else {"401"}
        assert expected <= set(errors_by_status), f"{method} {path}: identity and input errors"
        for status, response in errors_by_status.items():
            schema = response["content"]["application/json"]["schema"]
            text = str(schema)
            assert ERROR_REF in text, f"{method} {path} {status}: errors are ErrorBody"
            codes = set(re.findall(r"`(\w+)`", response["description"]))
            assert codes == {e.code for e in route.errors if str(e.status) == status}, (path, status)


def test_every_error_class_a_route_lists_is_documented_with_its_own_status_and_code(spec: dict[str, Any]) -> None:
    for route in routes.ROUTES:
        responses = spec["paths"][route.path][route.method.lower()]["responses"]
        for error in route.errors:
            assert issubclass(error, errors.ChatError)
            assert f"`{error.code}`" in responses[str(error.status)]["description"], (route.path, error.code)


def test_a_401_may_be_api_gateways_bare_message_or_the_functions_error_body(spec: dict[str, Any]) -> None:
    unauthorized = spec["paths"]["/api/v1/ai/chat"]["post"]["responses"]["401"]["content"]["application/json"]
    refs = {option.get("$ref") or option["allOf"][0]["$ref"] for option in unauthorized["schema"]["anyOf"]}
    assert refs == {ERROR_REF, "#/components/schemas/GatewayMessage"}


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    refs = set(re.findall(r"'\$ref': '([^']+)'", str(spec)))
    assert refs, "the document uses components"
    for ref in refs:
        resolve(spec, ref)


def test_the_api_needs_a_bearer_jwt_and_only_the_docs_routes_do_not(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                    "bearerFormat": "JWT"}
    assert spec["security"] == [{"bearerAuth": []}]
    public = {(m, p) for p, ops in spec["paths"].items() for m, op in ops.items() if op.get("security") == []}
    assert public == {key for key, authorized in template_routes().items() if not authorized}


def test_request_schemas_carry_the_models_bounds_and_refuse_unknown_fields(spec: dict[str, Any]) -> None:
    chat = spec["components"]["schemas"]["ChatRequest"]
    assert (chat["properties"]["message"]["minLength"], chat["properties"]["message"]["maxLength"]) == (1, 10_000)
    assert chat["additionalProperties"] is False and chat["required"] == ["message"]
    feedback = spec["components"]["schemas"]["FeedbackRequest"]["properties"]["rating"]
    assert (feedback["minimum"], feedback["maximum"]) == (1, 5)
    path_id = spec["paths"]["/api/v1/ai/sessions/{session_id}/history"]["get"]["parameters"][0]
    assert path_id["schema"]["maxLength"] == models.MAX_ID_LENGTH


def test_the_guides_example_bodies_are_valid_requests() -> None:
    for route in routes.ROUTES:
        if route.example is not None:
            assert route.request is not None
            route.request.model_validate(route.example)


@pytest.mark.parametrize("page", [openapi.swagger_ui_page, openapi.redoc_page])
def test_the_pages_load_everything_by_relative_url_from_the_docs_assets(page: Any) -> None:
    html = page()
    links = re.findall(r'(?:src|href|spec-url)="([^"]+)"|"url": "([^"]+)"', html)
    assert links
    for link in (a or b for a, b in links):
        assert "://" not in link and not link.startswith("/"), link
        assert link == "openapi.json" or link.startswith("docs/assets/"), link
