"""The local API: each HTTP request answered as API Gateway and the function behind it would answer it.

A request is matched to a template route (or answered by the gateway itself: CORS preflights, 401, 404), becomes the
payload-2.0 event, goes to the function's handler with a Lambda context, and its reply becomes the HTTP response.
Requests no route matches may be one of the local server's own pages (localdev/pages.py). Nothing here knows HTTP's
wire format: localdev/http.py reads requests and writes responses, and calls `Api.handle` in a thread per request.
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from collections.abc import Callable, Mapping

from localdev import pages, token
from localdev.gateway import (
    INTERNAL_ERROR,
    NOT_FOUND,
    UNAUTHORIZED,
    Gateway,
    HttpRequest,
    HttpResponse,
    build_event,
    from_lambda,
    json_response,
)
from localdev.lambdas import Handler, context_for
from localdev.timing import DynamoDBTimer, Timings


class Api:
    """API Gateway in front of the functions: routing, the JWT authorizer, CORS, and the payload-2.0 exchange."""

    def __init__(self, gateway: Gateway, handlers: Mapping[str, Handler], secret: str, *,
                 timer: DynamoDBTimer | None = None, log: Callable[[str], None] | None = None) -> None:
        self.gateway = gateway
        self.handlers = handlers
        self.secret = secret
        self.timer = timer
        self.log = log

    def handle(self, request: HttpRequest, host: str) -> HttpResponse:
        """The response API Gateway (and the function behind it) would give; blocks while the function runs."""
        started = time.perf_counter()
        timings = Timings()
        response = self._respond(request, host, timings)
        timings.total_ms = (time.perf_counter() - started) * 1000
        if self.timer is not None:
            response.headers.append(("server-timing", timings.header()))
        if self.log is not None:
            query = f"?{request.raw_query}" if request.raw_query else ""
            self.log(f'{request.source_ip} "{request.method} {request.raw_path}{query}" {response.status} '
                     f"{timings.total_ms:.1f} ms")
        return response

    def _respond(self, request: HttpRequest, host: str, timings: Timings) -> HttpResponse:
        origin = request.header("origin")
        matched = self.gateway.match(request.method, request.raw_path)
        if request.method == "OPTIONS" and matched is None and self.gateway.cors.allow_methods:
            # API Gateway answers CORS preflights itself, before any authorizer.
            return HttpResponse(204, list(self.gateway.cors.preflight_headers(origin).items()), b"")
        if matched is None:
            return pages.page(request.method, request.raw_path) or json_response(404, NOT_FOUND)
        route, path_parameters = matched
        cors = self.gateway.cors.response_headers(origin)
        claims = None
        if route.authorized:
            try:
                claims = token.verify(request.header("authorization"), self.secret)
            except token.InvalidToken as e:
                if self.log is not None:
                    self.log(f"401 {request.method} {request.raw_path}: {e}")
                challenge = {} if request.header("authorization") is None else {
                    "www-authenticate": f'Bearer error="invalid_token" error_description="{e}"'}
                return json_response(401, UNAUTHORIZED, {**challenge, **cors})
        event = build_event(request, route, path_parameters, claims, host)
        handler_started = time.perf_counter()
        try:
            with self.timer.measuring(timings) if self.timer else contextlib.nullcontext():
                result = self.handlers[route.function](event, context_for(route))
            response = from_lambda(result)
        except Exception:
            # What Lambda would log; the client gets API Gateway's bare 500, never the traceback.
            sys.stderr.write(f"{route.function} failed:\n{traceback.format_exc()}")
            response = json_response(500, INTERNAL_ERROR)
        timings.handler_ms = (time.perf_counter() - handler_started) * 1000
        response.headers.extend(cors.items())
        return response
