"""The HTTP edge shared by every function: request parsing, JSON replies, and errors mapped to HTTP in one place.

API Gateway routes each path to its own function, so a function needs no router; skipping Powertools' resolver
keeps about 90 ms of imports off every cold start (see README, "Cold start").
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import BaseModel, ValidationError

from aichat.core import logs
from aichat.core.errors import ChatError, InvalidInput, StorageUnavailable
from aichat.core.identity import Identity, identity_from_event
from aichat.core.models import MAX_CONTEXT_DEPTH, MAX_ID_LENGTH
from aichat.core.settings import Settings

M = TypeVar("M", bound=BaseModel)
LambdaResponse = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A JSON reply: a pydantic model, a list of them, or plain data; status 204 has no body."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_lambda(self) -> LambdaResponse:
        if self.status == 204:  # No Content: no body, so no type either
            return {"statusCode": 204, "headers": dict(self.headers), "body": "", "isBase64Encoded": False}
        if isinstance(self.body, BaseModel):
            payload: Any = self.body.model_dump(mode="json")
        elif isinstance(self.body, list):
            payload = [b.model_dump(mode="json") if isinstance(b, BaseModel) else b for b in self.body]
        else:
            payload = self.body
        return {"statusCode": self.status, "headers": {"Content-Type": "application/json", **self.headers},
                "body": json.dumps(payload), "isBase64Encoded": False}


@dataclass(frozen=True)
class Request:
    """One HTTP API (payload 2.0) request, read the same way by every function."""

    event: Mapping[str, Any]
    settings: Settings

    def caller(self) -> Identity:
        """The verified caller."""
        return identity_from_event(self.event, self.settings)

    def body(self, model: type[M]) -> M:
        """The body validated as `model`; 422 naming each bad field otherwise."""
        raw = self.event.get("body") or ""
        if self.event.get("isBase64Encoded") and raw:
            try:
                raw = base64.b64decode(raw).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidInput("The body is not valid base64-encoded UTF-8 text.", field="body") from None
        data = self._json(raw) if raw else None
        if not isinstance(data, dict):
            raise InvalidInput("The body must be a JSON object.", field="body")
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise _invalid(e) from None

    @staticmethod
    def _json(raw: str) -> Any:
        """The body as JSON; 422 for anything the parser cannot take, not only for malformed text."""
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"The body is not valid JSON ({e.msg} at position {e.pos}); send a JSON object.",
                               field="body") from None
        except RecursionError:  # the parser recurses once per level: a few hundred levels exhaust the stack
            raise InvalidInput(f"The body nests arrays or objects too deeply to read; send a JSON object (a context "
                               f"nests at most {MAX_CONTEXT_DEPTH} levels).", field="body") from None
        except ValueError:  # Python reads integers of at most sys.get_int_max_str_digits() digits
            raise InvalidInput(f"The body holds a number too long to read (more than "
                               f"{sys.get_int_max_str_digits()} digits); send numbers of ordinary size.",
                               field="body") from None

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        """An integer query parameter within [low, high]; 422 naming it otherwise."""
        raw = self.query_str(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise InvalidInput(f"{name} must be a whole number from {low} to {high}, not {raw!r}.", field=name)
        return value

    def query_str(self, name: str) -> str | None:
        """An optional query parameter ("" counts as absent)."""
        return (self.event.get("queryStringParameters") or {}).get(name) or None

    def query_id(self, name: str) -> str | None:
        """An optional id in the query; 422 naming it when it is too long to be one this API made."""
        value = self.query_str(name)
        if value is not None and (len(value) > MAX_ID_LENGTH or "#" in value):
            raise InvalidInput(f"{name} is not an id this API made (ids are at most {MAX_ID_LENGTH} characters).",
                               field=name)
        return value

    def path(self, name: str) -> str:
        """A path parameter as API Gateway matched it: an id, so 422 naming it when it is too long to be one."""
        value = str((self.event.get("pathParameters") or {}).get(name, ""))
        if len(value) > MAX_ID_LENGTH:
            raise InvalidInput(f"{name} is not an id this API made (ids are at most {MAX_ID_LENGTH} characters).",
                               field=name)
        return value

    def header(self, name: str) -> str | None:
        """A request header ("" counts as absent); HTTP API events carry header names in lower case."""
        headers = self.event.get("headers") or {}
        value = headers.get(name.lower())
        if value is None:  # a hand-made event may keep the sender's capitalisation
            value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
        return str(value) if value else None


Endpoint = Callable[[Request], Reply]


def handle(event: Mapping[str, Any], settings: Settings, endpoint: Endpoint) -> LambdaResponse:
    """Run one endpoint; every error, expected or not, leaves as JSON {detail, code}, never a traceback."""
    logs.request_keys(**request_keys_of(event, settings))
    try:
        return endpoint(Request(event, settings)).to_lambda()
    except Exception as e:
        return error_reply(e).to_lambda()


def error_reply(error: Exception) -> Reply:
    """The JSON reply for an error: its own status and body for a ChatError, 503 storage_unavailable for DynamoDB
    out of reach, else a bare 500 (logged with its traceback); the one place errors become HTTP."""
    if isinstance(error, ChatError):
        if error.status >= 500:
            logs.logger().warning("request failed", extra={"code": error.code, "cause": _cause(error.__cause__)})
        return Reply(error.body(), error.status)
    if isinstance(error, BotoCoreError | ClientError) and _unavailable(error):
        logs.logger().warning("storage unavailable", extra={"cause": _cause(error)})
        unavailable = StorageUnavailable("The conversation store is unavailable right now; try again in a moment.")
        return Reply(unavailable.body(), unavailable.status)
    logs.logger().exception("unhandled error")
    return Reply({"detail": "Something went wrong on our side; try again shortly.", "code": "internal_error"}, 500)


def request_keys_of(event: Mapping[str, Any], settings: Settings) -> dict[str, str | None]:
    """What every log line of this request carries: the route, the caller's tenant and user, the path's session.

    Ids only. The caller is read here for the logs alone: a request without a usable one is answered by its endpoint
    (401, 400), in the order that endpoint checks its input.
    """
    keys: dict[str, str | None] = {"route": _text(event.get("routeKey"))}
    try:
        caller = identity_from_event(event, settings)
    except ChatError:
        pass
    else:
        keys.update(tenant_id=caller.tenant_id, user_id=caller.user_id)
    session_id = _text((event.get("pathParameters") or {}).get("session_id"))
    keys["session_id"] = session_id if session_id and len(session_id) <= MAX_ID_LENGTH else None
    return keys


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cause(error: BaseException | None) -> str | None:
    """What caused an error, fit for a log line: AWS's own error in full, anything else by its type alone (a
    provider SDK's message may quote the request, or part of a key)."""
    if error is None:
        return None
    return repr(error) if isinstance(error, BotoCoreError | ClientError) else type(error).__name__


# What DynamoDB (or any AWS service) says when it is out of reach or over capacity after botocore's own retries.
_UNAVAILABLE_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                      "InternalServerError", "ServiceUnavailable", "TransactionInProgressException"}


def _unavailable(error: BotoCoreError | ClientError) -> bool:
    if isinstance(error, BotoConnectionError | HTTPClientError):  # unreachable, refused, timed out, reset
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        reasons = error.response.get("CancellationReasons") or []
        return code in _UNAVAILABLE_CODES or (code == "TransactionCanceledException" and any(
            r.get("Code") in ("ThrottlingError", "TransactionConflict") for r in reasons))
    return False


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
