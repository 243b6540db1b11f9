"""The API's OpenAPI document, built from the same pydantic models and error classes the functions use.

Built from the route table (api/routes.py): each route's models, success status and errors. The docs function serves
the document with Swagger UI and ReDoc pages whose scripts come from npm packages shipped beside it, never a CDN.
"""

from __future__ import annotations

import html
import json
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from aichat.api.routes import ROUTES, STREAM_ROUTES, ApiRoute
from aichat.core import errors, models

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"
ASSETS_PATH = "/docs/assets"


class GatewayMessage(BaseModel):
    """The body API Gateway itself answers with: a missing, invalid or expired token never reaches a function."""

    message: str = Field(description='"Unauthorized", from the JWT authorizer')


class AssetNotFound(errors.ChatError):
    """The docs pages asked for a file the docs function does not ship."""

    status = 404
    code = "asset_not_found"


# The docs function's own routes: public, and not JSON (except the document itself).
DOCS_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/openapi.json", "application/json", "This document"),
    ("/docs", "text/html", "Swagger UI"),
    ("/redoc", "text/html", "ReDoc"),
    (f"{ASSETS_PATH}/{{asset}}", "text/javascript", "A script or style sheet of the documentation pages"),
)


JsonSchemaMode = Literal["validation", "serialization"]
SchemaRefs = dict[tuple[type[BaseModel], JsonSchemaMode], Any]


def _component_schemas() -> tuple[SchemaRefs, dict[str, Any]]:
    extra: set[type[BaseModel]] = {models.ErrorBody, GatewayMessage}
    requests = sorted({r.request for r in ROUTES if r.request is not None}, key=lambda m: m.__name__)
    responses = sorted({r.response for r in ROUTES if r.response is not None} | extra, key=lambda m: m.__name__)
    # Requests in validation mode (what a client may send), replies in serialization mode (what it gets back).
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in requests), *((m, "serialization") for m in responses)]
    refs, definitions = models_json_schema(pairs, ref_template=REF)
    return {pair: refs[pair] for pair in pairs}, dict(definitions.get("$defs", {}))


def _error_responses(route: ApiRoute) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for error in route.errors:
        by_status.setdefault(error.status, []).append(error.code)
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        schema: dict[str, Any] = {"allOf": [{"$ref": REF.format(model="ErrorBody")},
                                            {"properties": {"code": {"enum": sorted(codes)}}}]}
        if status == 401:
            schema = {"anyOf": [schema, {"$ref": REF.format(model="GatewayMessage")}]}
        responses[str(status)] = {
            "description": "code: " + ", ".join(f"`{c}`" for c in sorted(codes)),
            "content": {"application/json": {"schema": schema}},
        }
    return responses


def _parameters(route: ApiRoute) -> list[dict[str, Any]]:
    path_names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1, "maxLength": models.MAX_ID_LENGTH}}
        for name in path_names
    ]
    parameters += [{"name": p.name, "in": p.where, "required": p.required, "schema": dict(p.schema),
                    "description": p.description} for p in route.params]
    return parameters


def _operation(route: ApiRoute, refs: SchemaRefs) -> dict[str, Any]:
    success: dict[str, Any] = {"description": route.summary}
    if route.response is not None:
        body_schema = refs[(route.response, "serialization")]
        if route.returns_list:
            body_schema = {"type": "array", "items": body_schema}
        success["content"] = {"application/json": {"schema": body_schema}}
    if route.streams:
        # No type: each event is `data: {part}` with a part of its own shape, then `data: [DONE]`.
        success["content"] = {"text/event-stream": {"schema": {
            "description": "`data: {part}` events of the AI SDK UI message stream v1, ending `data: [DONE]`; the "
                           "message-metadata part carries the fields of ChatMetadata"}}}
    if route.response_headers:
        success["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                              for name, text in route.response_headers.items()}
    operation: dict[str, Any] = {
        "operationId": route.operation_id, "summary": route.summary, "tags": ["AI - Chat"],
        "parameters": _parameters(route),
        "responses": {str(route.status): success, **_error_responses(route)},
    }
    if route.description:
        operation["description"] = route.description
    if route.request is not None:
        content: dict[str, Any] = {"schema": refs[(route.request, "validation")]}
        if route.example is not None:
            content["example"] = dict(route.example)
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
    return operation


def _docs_operation(path: str, media_type: str, summary: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"} if media_type == "application/json" else {"type": "string"}
    operation: dict[str, Any] = {
        "operationId": "docs" + "".join(c for c in path.title() if c.isalnum()), "summary": summary,
        "tags": ["Documentation"], "security": [],
        "responses": {"200": {"description": summary, "content": {media_type: {"schema": schema}}}},
    }
    if "{asset}" in path:
        operation["parameters"] = [{"name": "asset", "in": "path", "required": True,
                                    "schema": {"type": "string", "minLength": 1}}]
        operation["responses"]["200"]["content"]["text/css"] = {"schema": {"type": "string"}}
        operation["responses"]["404"] = {
            "description": f"code: `{AssetNotFound.code}`",
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}}}
    return operation


def build_spec(title: str = "AI chat API", version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route: request, response and error schemas, and the bearer JWT scheme."""
    refs, schemas = _component_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in (*ROUTES, *STREAM_ROUTES):
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    for path, media_type, summary in DOCS_ROUTES:
        paths.setdefault(path, {})["get"] = _docs_operation(path, media_type, summary)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Every route under /api/v1/ai needs `Authorization: Bearer <JWT>`; errors are JSON "
                                "`{detail, code}`, and a token API Gateway refuses answers 401 "
                                '`{"message": "Unauthorized"}`.'},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": "AI - Chat", "description": "The chat API of the quick-start guide"},
                 {"name": "Documentation", "description": "These pages; no token needed"}],
    }


def spec_json() -> str:
    """The document as compact JSON."""
    return json.dumps(build_spec(), separators=(",", ":"))


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
</head>
<body>
{body}
</body>
</html>
"""


def swagger_ui_page(spec_url: str = "openapi.json", assets: str = "docs/assets", title: str = "AI chat API") -> str:
    """Swagger UI for the document; URLs are relative, so the page works under any base path."""
    config = json.dumps({"url": spec_url, "dom_id": "#swagger-ui", "deepLinking": True,
                         "persistAuthorization": True, "validatorUrl": None})
    return _PAGE.format(
        title=html.escape(title),
        head=f'<link rel="stylesheet" href="{assets}/swagger-ui.css">',
        body=f'<div id="swagger-ui"></div>\n<script src="{assets}/swagger-ui-bundle.js"></script>\n'
             f"<script>window.ui = SwaggerUIBundle({config});</script>",
    )


def redoc_page(spec_url: str = "openapi.json", assets: str = "docs/assets", title: str = "AI chat API") -> str:
    """ReDoc for the document; relative URLs as for Swagger UI."""
    return _PAGE.format(
        title=html.escape(title),
        head="<style>body { margin: 0; padding: 0; }</style>",
        body=f'<redoc spec-url="{html.escape(spec_url)}"></redoc>\n'
             f'<script src="{assets}/redoc.standalone.js"></script>',
    )
