"""The container's one logger (Powertools, a JSON line per call on stdout), and the keys that tie a line to its request.

Each function's handler is wrapped by `api_handler` (an API route) or `scheduled_handler` (an EventBridge run). For
that invocation every line carries `function_request_id` (the Lambda request id: the access log's `lambdaRequestId`,
the `RequestId` of the START/END/REPORT lines), `correlation_id` (API Gateway's request id: the access log's
`requestId` and the `apigw-requestid` response header; for a scheduled run, the EventBridge event's id),
`function_name`, `function_memory_size`, `function_arn` and `cold_start`: the fields Powertools'
`inject_lambda_context` adds, under its names (a test compares them), without building the Logger at import.
`http_api.handle` adds the route, the caller's tenant and user, and the session a path names (`request_keys`). The
keys end with the invocation, so no line of one request carries another's.

The keys are kept here rather than in the Logger, so the Logger (Powertools' package: 41 modules) is built on the
first line a container writes: a request that logs nothing does not pay for it (see README, "Cold start").
Lines carry ids, codes and figures, never message text, context, tokens or keys.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "ai-chat"
# Where an event holds its correlation id: Powertools' correlation_paths.API_GATEWAY_HTTP and .EVENT_BRIDGE (a test
# checks they agree), as dotted keys.
API_GATEWAY_REQUEST_ID = "requestContext.requestId"
EVENTBRIDGE_EVENT_ID = "id"

Handler = TypeVar("Handler", bound=Callable[..., Any])

# The running invocation's keys; None outside one. A context variable, so the requests the local server runs side by
# side in one process keep their own.
_KEYS: ContextVar[dict[str, Any] | None] = ContextVar("aichat_log_keys", default=None)
_cold_start = True


class _Stdout:
    """Whatever sys.stdout is when a line is written: a handler keeps the stream it was built with, and a test that
    captures stdout replaces sys.stdout after that."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _add_request_keys(record: logging.LogRecord) -> bool:
    """Puts the invocation's keys on a line; a field the call passes itself (`extra`) wins."""
    for key, value in (_KEYS.get() or {}).items():
        if key not in record.__dict__:
            setattr(record, key, value)
    return True


@functools.cache
def logger() -> Logger:
    """The container's logger, built on first use; POWERTOOLS_LOG_LEVEL sets its level (INFO by default)."""
    from aws_lambda_powertools import Logger

    built = Logger(service=SERVICE, stream=cast("IO[str]", _Stdout()))
    built.registered_handler.addFilter(_add_request_keys)
    return built


def request_keys(**keys: str | None) -> None:
    """Keys for every later line of the running invocation (ids only); outside an invocation, nothing."""
    current = _KEYS.get()
    if current is not None:
        current.update((k, v) for k, v in keys.items() if v is not None)


def _logged(correlation_id_path: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            global _cold_start
            keys = {"correlation_id": _at(event, correlation_id_path),
                    "function_request_id": _text(getattr(context, "aws_request_id", None)),
                    "function_name": _text(getattr(context, "function_name", None)),
                    "function_memory_size": getattr(context, "memory_limit_in_mb", None),
                    "function_arn": _text(getattr(context, "invoked_function_arn", None)), "cold_start": _cold_start}
            _cold_start = False
            started = _KEYS.set({k: v for k, v in keys.items() if v is not None})
            try:
                return handler(event, context)
            finally:
                _KEYS.reset(started)

        return cast("Handler", run)

    return decorate


def _at(event: Any, path: str) -> str | None:
    for key in path.split("."):
        event = event.get(key) if isinstance(event, Mapping) else None
    return _text(event)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Every API function's handler: correlation_id is API Gateway's request id.
api_handler = _logged(API_GATEWAY_REQUEST_ID)
# Every scheduled function's handler: correlation_id is the EventBridge event's id.
scheduled_handler = _logged(EVENTBRIDGE_EVENT_ID)
