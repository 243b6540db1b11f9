"""The routes that stream: what API Gateway and the Lambda Web Adapter do in front of a streaming function's ASGI app.

In AWS a streaming route is a REST API route whose integration streams, with an authorizer, and the function runs
its ASGI app under the Lambda Web Adapter, which hands API Gateway's request context over in the
`x-amzn-request-context` header. Here the same app is served in this process: the bearer token is verified as for
every route (401 otherwise), the verified claims are handed over as strings in that header (a client's own
`x-amzn-*` headers are dropped, so none can claim an identity), CORS headers are added, and the app's response goes
to the client chunk by chunk as it writes it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from localdev import token
from localdev.gateway import UNAUTHORIZED, Cors, HttpRequest, HttpResponse, claim_text, json_response
from localdev.lambdas import load_handler

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Headers only the adapter sets; a client's own are dropped before the app sees the request.
_ADAPTER_HEADERS = ("x-amzn-request-context", "x-amzn-lambda-context")


@dataclass(frozen=True)
class StreamRoute:
    """A route answered by a streaming function's ASGI app (`app` in functions/<code>/app.py)."""

    method: str
    path: str
    function: str
    code_dir: Path
    handler: str = "app.app"
    timeout: int = 900
    memory: int = 1024

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class StreamTarget:
    """One request for a streaming app, with the identity the front verified and the CORS headers to add."""

    app: AsgiApp
    route: StreamRoute
    request_context: Mapping[str, Any]
    cors: Mapping[str, str]

    async def serve(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Run the app for the request whose `body` was read already; its response streams to the client."""
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in _ADAPTER_HEADERS]
        headers.append((b"x-amzn-request-context", json.dumps(self.request_context).encode()))
        sent_body = False

        async def replay() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def with_cors(message: Message) -> None:
            # The app adds its own CORS header where STREAM_ALLOWED_ORIGIN is set (as in AWS, where the REST API's
            # proxy adds none); otherwise the template's CorsConfiguration's, as for every other route.
            headers = list(message.get("headers", []))
            if message["type"] == "http.response.start" and not any(
                    k.lower() == b"access-control-allow-origin" for k, _ in headers):
                message = {**message, "headers": [*headers, *((k.encode(), v.encode()) for k, v in self.cors.items())]}
            await send(message)

        await self.app({**scope, "headers": headers}, replay, with_cors)


class StreamFront:
    """The streaming routes, each app loaded once, as one warm container per function."""

    def __init__(self, routes: Iterable[StreamRoute], secret: str, cors: Cors,
                 log: Callable[[str], None] | None = None) -> None:
        self.routes = {(r.method, r.path): r for r in routes}
        self.apps = {r.function: cast(AsgiApp, load_handler(r)) for r in self.routes.values()}
        self._secret = secret
        self._cors = cors
        self._log = log

    def target(self, request: HttpRequest) -> StreamTarget | HttpResponse | None:
        """The app to serve `request` (or the front's own 401), or None when no streaming route matches."""
        route = self.routes.get((request.method, request.raw_path))
        if route is None:
            return None
        cors = self._cors.response_headers(request.header("origin"))
        try:
            claims = token.verify(request.header("authorization"), self._secret)
        except token.InvalidToken as e:
            if self._log is not None:
                self._log(f"401 {request.method} {request.raw_path}: {e}")
            return json_response(401, UNAUTHORIZED, cors)
        if self._log is not None:
            self._log(f'{request.source_ip} "{request.method} {request.raw_path}" streaming')
        return StreamTarget(self.apps[route.function], route, _request_context(request, route, claims), cors)


def _request_context(request: HttpRequest, route: StreamRoute, claims: Mapping[str, Any]) -> dict[str, Any]:
    """A REST API's request context as the adapter hands it over: a Cognito authorizer's claims, as strings."""
    now = time.time()
    return {"accountId": "000000000000", "apiId": "local", "stage": "local", "requestId": str(uuid.uuid4()),
            "resourcePath": route.path, "httpMethod": request.method, "path": request.raw_path,
            "requestTimeEpoch": int(now * 1000), "identity": {"sourceIp": request.source_ip},
            "authorizer": {"claims": {k: claim_text(v) for k, v in claims.items()}}}


def stream_routes(table: Iterable[Any], root: Path) -> list[StreamRoute]:
    """The route table's streaming routes (aichat.api.routes.STREAM_ROUTES), each with its code folder."""
    return [StreamRoute(method=r.method, path=r.path, function=r.function, code_dir=root / "functions" / r.code)
            for r in table]
