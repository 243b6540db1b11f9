"""The HTTP edge shared by every function: the resolver, request parsing, and errors mapped to HTTP in one place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel, ValidationError

from aichat.errors import ChatError, InvalidInput
from aichat.identity import Identity, identity_from_event
from aichat.settings import Settings

M = TypeVar("M", bound=BaseModel)

logger = Logger(service="ai-chat")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response[str]:
    """A JSON response from a pydantic model, a list of them, or plain data."""
    if isinstance(body, BaseModel):
        payload: Any = body.model_dump(mode="json")
    elif isinstance(body, list):
        payload = [b.model_dump(mode="json") if isinstance(b, BaseModel) else b for b in body]
    else:
        payload = body
    return Response(status_code=status, content_type="application/json", body=json.dumps(payload),
                    headers=dict(headers or {}))


def build_resolver() -> APIGatewayHttpResolver:
    """A resolver whose every error, expected or not, leaves as JSON {detail, code}, never a traceback."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(ChatError)  # type: ignore[untyped-decorator]
    def _chat_error(error: ChatError) -> Response[str]:
        if error.status >= 500:
            logger.warning("request failed", extra={"code": error.code, "cause": repr(error.__cause__)})
        return json_response(error.body(), error.status)

    @app.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
    def _no_route(_: NotFoundError) -> Response[str]:
        return json_response({"detail": "No such route.", "code": "route_not_found"}, 404)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(_: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return json_response({"detail": "Something went wrong on our side; try again shortly.",
                              "code": "internal_error"}, 500)

    return app


def caller(app: APIGatewayHttpResolver, settings: Settings) -> Identity:
    """The verified caller of the current request."""
    return identity_from_event(app.current_event.raw_event, settings)


def body(app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The request body validated as `model`; 422 naming each bad field otherwise."""
    raw = app.current_event.decoded_body
    try:
        data = json.loads(raw) if raw else None
    except json.JSONDecodeError as e:
        raise InvalidInput(f"The body is not valid JSON ({e.msg} at position {e.pos}); send a JSON object.",
                           field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None


def query_int(app: APIGatewayHttpResolver, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; 422 naming it otherwise."""
    raw = app.current_event.get_query_string_value(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}, not {raw!r}.", field=name)
    return value


def query_str(app: APIGatewayHttpResolver, name: str) -> str | None:
    """An optional string query parameter ("" counts as absent)."""
    return app.current_event.get_query_string_value(name) or None


def path_param(app: APIGatewayHttpResolver, name: str) -> str:
    """A path parameter as API Gateway matched it."""
    return str((app.current_event.path_parameters or {}).get(name, ""))


def _invalid(error: ValidationError) -> InvalidInput:
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": _fix(err)} for err in error.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return InvalidInput(f"Invalid request: {summary}.", field=problems[0]["field"], errors=problems)


def _fix(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "is not a field of this request; remove it (check the spelling)"
    if err["type"] == "missing":
        return "is required"
    return str(err["msg"]).removeprefix("Value error, ")
