"""What API Gateway's HTTP API does around a function, read from template.yaml: routes, JWT claims, CORS, payload 2.0.

Each HttpApi event of an AWS::Serverless::Function becomes a GatewayRoute; a request becomes the payload-2.0 event API
Gateway would send; the function's reply becomes the HTTP response API Gateway would write.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

UNAUTHORIZED = {"message": "Unauthorized"}
NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}

# Bodies API Gateway passes to a function as text; any other body arrives base64-encoded.
_TEXT_TYPES = re.compile(r"^(text/.*|application/(.*\+)?(json|xml|javascript|x-www-form-urlencoded))$")


@dataclass(frozen=True)
class GatewayRoute:
    """One HttpApi event of one function."""

    method: str
    path: str
    function: str
    code_dir: Path
    handler: str
    authorized: bool
    timeout: int = 3
    memory: int = 128
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int]:
        # API Gateway prefers a literal path over one with variables, and a plain variable over a greedy one.
        return self.path.count("+}"), self.path.count("{")


@dataclass(frozen=True)
class Cors:
    """The HttpApi's CorsConfiguration, with parameters resolved to their defaults."""

    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def origin_allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, or None."""
        if not origin or not self.allow_origins:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """The headers of API Gateway's answer to an OPTIONS preflight."""
        allowed = self.origin_allowed(origin)
        if allowed is None:
            return {}
        headers = {"access-control-allow-origin": allowed}
        if self.allow_methods:
            headers["access-control-allow-methods"] = ",".join(self.allow_methods)
        if self.allow_headers:
            headers["access-control-allow-headers"] = ",".join(h.lower() for h in self.allow_headers)
        if self.max_age is not None:
            headers["access-control-max-age"] = str(self.max_age)
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        return headers

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers added to a function's reply."""
        allowed = self.origin_allowed(origin)
        if allowed is None:
            return {}
        headers = {"access-control-allow-origin": allowed}
        if self.expose_headers:
            headers["access-control-expose-headers"] = ",".join(h.lower() for h in self.expose_headers)
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        return headers


@dataclass(frozen=True)
class Gateway:
    """The routes and CORS settings of the template's HttpApi."""

    routes: tuple[GatewayRoute, ...]
    cors: Cors

    def match(self, method: str, raw_path: str) -> tuple[GatewayRoute, dict[str, str]] | None:
        """The route for a request and its path parameters (decoded), or None (API Gateway's 404)."""
        candidates = [r for r in self.routes if r.method in (method, "ANY")]
        for route in sorted(candidates, key=lambda r: (r.specificity, r.method == "ANY")):
            found = route.pattern.match(raw_path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """A value with !Ref to a parameter replaced by the parameter's default; anything else unresolved is None."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]].get("Default")
        return None
    if isinstance(value, list):
        return [_resolve(v, parameters) for v in value]
    return value


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or []) if v is not None and v != "")


def gateway_from_template(template: Mapping[str, Any], root: Path) -> Gateway:
    """Every HttpApi route of every AWS::Serverless::Function, and the HttpApi's CORS configuration."""
    defaults = template.get("Globals", {}).get("Function", {})
    parameters = template.get("Parameters", {})
    resources = template.get("Resources", {})
    routes: list[GatewayRoute] = []
    default_authorizer: dict[str, str | None] = {}
    cors = Cors()
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            props = resource.get("Properties", {})
            default_authorizer[name] = props.get("Auth", {}).get("DefaultAuthorizer")
            config = props.get("CorsConfiguration")
            if isinstance(config, dict):
                cors = Cors(
                    allow_origins=_strings(_resolve(config.get("AllowOrigins"), parameters)),
                    allow_headers=_strings(_resolve(config.get("AllowHeaders"), parameters)),
                    allow_methods=_strings(_resolve(config.get("AllowMethods"), parameters)),
                    expose_headers=_strings(_resolve(config.get("ExposeHeaders"), parameters)),
                    max_age=_resolve(config.get("MaxAge"), parameters),
                    allow_credentials=bool(_resolve(config.get("AllowCredentials"), parameters)),
                )
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = {**defaults, **resource.get("Properties", {})}
        for event in props.get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            event_props = event.get("Properties", {})
            api_id = event_props.get("ApiId")
            api = str(api_id.get("Ref")) if isinstance(api_id, dict) else ""
            authorizer = event_props.get("Auth", {}).get("Authorizer") or default_authorizer.get(api)
            method = str(event_props.get("Method", "ANY")).upper()
            routes.append(GatewayRoute(
                method="ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                path=str(event_props.get("Path", "/{proxy+}")), function=name,
                code_dir=root / str(props["CodeUri"]), handler=str(props.get("Handler", "app.lambda_handler")),
                authorized=authorizer not in (None, "NONE"), timeout=int(props.get("Timeout", 3)),
                memory=int(_resolve(props.get("MemorySize", 128), parameters)),
            ))
    return Gateway(tuple(routes), cors)


def claim_text(value: Any) -> str:
    """A claim as API Gateway's JWT authorizer hands it over: always a string, an array as "[a b]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_text(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return ""
    return str(value)


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text (otherwise base64)."""
    media = (content_type or "").split(";")[0].strip().lower()
    return bool(_TEXT_TYPES.match(media))


@dataclass(frozen=True)
class HttpRequest:
    """A request as the server read it: raw path and query, headers as received, body bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def build_event(request: HttpRequest, route: GatewayRoute, path_parameters: Mapping[str, str],
                claims: Mapping[str, Any] | None, stage_host: str) -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends for `request` on `route`."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = time.time()
    request_id = uuid.uuid4().hex[:16]
    context: dict[str, Any] = {
        "accountId": "000000000000", "apiId": "local", "domainName": stage_host,
        "domainPrefix": stage_host.split(".")[0].split(":")[0],
        "http": {"method": request.method, "path": request.raw_path, "protocol": request.protocol,
                 "sourceIp": request.source_ip, "userAgent": headers.get("user-agent", "")},
        "requestId": request_id, "routeKey": route.key, "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": {k: claim_text(v) for k, v in claims.items()}, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route.key, "rawPath": request.raw_path, "rawQueryString": request.raw_query,
        "headers": headers, "requestContext": context, "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        if is_text(request.header("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(request.body).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(request.body).decode(), True
    return event


# A response body sent as it is produced, chunk by chunk: a generator (run in a thread of its own) or an async one.
Chunks = Iterable[bytes] | AsyncIterable[bytes]


@dataclass(frozen=True)
class HttpResponse:
    """A response to write: `body` whole, with its Content-Length; or, with `stream`, `body` and then each chunk
    as it is produced (chunked transfer encoding), for replies such as Server-Sent Events."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: Chunks | None = field(default=None, compare=False)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """A JSON answer API Gateway gives on its own (401, 404, 500)."""
    return HttpResponse(status, [("content-type", "application/json"), *(headers or {}).items()],
                        json.dumps(payload).encode())


def from_lambda(result: Any) -> HttpResponse:
    """The HTTP response API Gateway writes for a payload-2.0 function result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0: anything but a {statusCode, ...} object is the body of a 200 JSON reply.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], text.encode())
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(c)) for c in result.get("cookies") or []]
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    return HttpResponse(int(result["statusCode"]), headers, body)
