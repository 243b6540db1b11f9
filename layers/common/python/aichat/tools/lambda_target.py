"""A custom tool run by a Lambda function, invoked synchronously with the verified caller and session and the
model's arguments: {"tenant_id", "user_id", "session_id", "arguments"}."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ReadTimeoutError

from aichat.core.aws import aws_client
from aichat.core.settings import Settings
from aichat.tools.deadline import TookTooLong
from aichat.tools.results import MAX_RESULT_BYTES, ResultTooDeep, ResultTooLarge, ResultUnreadable, TargetFailed

# A client for a read timeout (the tool's own limit): built on the tool's first call.
LambdaClients = Callable[[float], Any]

_ERROR_TYPE = re.compile(rb'"errorType"\s*:\s*"([A-Za-z0-9_.$:-]{1,100})"')


def lambda_clients(settings: Settings) -> LambdaClients:
    """Clients made as every other AWS client is (aichat/core/aws.py), at LAMBDA_ENDPOINT_URL when set."""

    def client(read_timeout: float) -> Any:
        # No retry: a retried invocation after a read timeout would run the function a second time, after the model
        # was told the outcome is unknown.
        return aws_client("lambda", settings, settings.LAMBDA_ENDPOINT_URL, max_attempts=0,
                          read_timeout=read_timeout)

    return client


class LambdaTarget:
    """Invokes the function (RequestResponse) and reads back its JSON object; a function error is TargetFailed with
    its errorType, and a payload that is not a JSON object, or is over MAX_RESULT_BYTES, is refused."""

    def __init__(self, arn: str, timeout_seconds: float, clients: LambdaClients) -> None:
        self.arn = arn
        self._timeout = timeout_seconds
        self._clients = clients
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
        payload = json.dumps({**context, "arguments": arguments}).encode()
        try:
            response = self._lambda().invoke(FunctionName=self.arn, InvocationType="RequestResponse",
                                             Payload=payload)
        except ReadTimeoutError:
            # The client's read timeout is the tool's own limit, so it may fire just before the turn's: either way
            # the function was not waited for and may have run, never "nothing was done".
            raise TookTooLong() from None
        stream = response["Payload"]
        try:
            # No more than the largest usable result is read, however much the function sent.
            body: bytes = stream.read(MAX_RESULT_BYTES + 1)
        finally:
            stream.close()
        if response.get("FunctionError"):
            raise TargetFailed(_error_type(body, str(response["FunctionError"])))
        if len(body) > MAX_RESULT_BYTES:
            raise ResultTooLarge()
        try:
            result = json.loads(body)
        except ValueError:  # not JSON, or not UTF-8
            raise ResultUnreadable() from None
        except RecursionError:  # nested deeper than the parser goes
            raise ResultTooDeep() from None
        if not isinstance(result, dict):
            raise ResultUnreadable()
        return result

    def _lambda(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._clients(self._timeout)
            return self._client


def _error_type(body: bytes, function_error: str) -> str:
    """The function's errorType (Lambda's error payload: errorMessage, errorType, stackTrace), found in what was
    read; else Lambda's FunctionError ("Unhandled")."""
    try:
        error = json.loads(body)
        kind = error.get("errorType") if isinstance(error, dict) else None
    except (ValueError, RecursionError):  # cut at the read limit, not JSON, too deep: look for the field itself
        found = _ERROR_TYPE.search(body)
        kind = found.group(1).decode() if found else None
    if isinstance(kind, str) and re.fullmatch(r"[A-Za-z0-9_.$:-]{1,100}", kind):
        return kind
    return function_error if re.fullmatch(r"[A-Za-z]{1,40}", function_error) else "Unhandled"
