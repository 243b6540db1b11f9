"""The local server's API Gateway: routes read from template.yaml, the payload-2.0 event, the JWT authorizer, CORS."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import load_event

from localdev import token
from localdev.api import Api
from localdev.gateway import (
    Cors,
    Gateway,
    GatewayRoute,
    HttpRequest,
    build_event,
    claim_text,
    from_lambda,
    gateway_from_template,
    is_text,
)
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-unit-test-secret-that-is-long-enough"


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return gateway_from_template(load_template(ROOT / "template.yaml"), ROOT)


def request(method: str = "GET", path: str = "/", query: str = "", body: bytes = b"",
            headers: list[tuple[str, str]] | None = None) -> HttpRequest:
    return HttpRequest(method=method, raw_path=path, raw_query=query, headers=headers or [], body=body,
                       source_ip="127.0.0.1")


def test_every_http_api_event_of_the_template_is_a_route_to_its_function(gateway: Gateway) -> None:
    routes = {(r.method, r.path): r for r in gateway.routes}
    chat = routes[("POST", "/api/v1/ai/chat")]
    assert (chat.function, chat.code_dir, chat.handler) == ("ChatFunction", ROOT / "functions/chat",
                                                            "app.lambda_handler")
    assert chat.authorized and chat.timeout == 60
    docs = [r for r in gateway.routes if r.function == "DocsFunction"]
    assert {r.path for r in docs} == {"/openapi.json", "/docs", "/redoc", "/docs/assets/{asset}"}
    assert not any(r.authorized for r in docs), "Authorizer: NONE opens a route"
    assert all(r.authorized for r in gateway.routes if r.function != "DocsFunction")


def test_cors_comes_from_the_http_apis_configuration_with_parameters_at_their_defaults(gateway: Gateway) -> None:
    assert gateway.cors.allow_origins == ("*",), "AllowedOrigin defaults to *"
    assert "Idempotency-Key" in gateway.cors.allow_headers and gateway.cors.max_age == 600
    assert gateway.cors.expose_headers == ("X-Next-Cursor", "ETag")


def test_a_path_matches_its_route_with_decoded_parameters_and_literals_win(gateway: Gateway) -> None:
    matched = gateway.match("GET", "/api/v1/ai/sessions/01AB%2Fx/history")
    assert matched is not None
    route, params = matched
    assert (route.function, params) == ("GetHistoryFunction", {"session_id": "01AB/x"})
    mine = gateway.match("GET", "/api/v1/ai/sessions/my")
    assert mine is not None and mine[0].function == "ListSessionsFunction"
    assert gateway.match("DELETE", "/api/v1/ai/chat") is None
    assert gateway.match("GET", "/api/v1/ai/sessions//history") is None


def test_a_literal_route_beats_a_variable_one_and_a_greedy_one_comes_last() -> None:
    routes = tuple(GatewayRoute("GET", path, name, ROOT, "app.h", True) for path, name in
                   [("/{proxy+}", "greedy"), ("/items/{id}", "variable"), ("/items/mine", "literal")])
    gateway = Gateway(routes, Cors())
    assert [gateway.match("GET", p)[0].function for p in ("/items/mine", "/items/7", "/a/b")] == [  # type: ignore[index]
        "literal", "variable", "greedy"]


@pytest.mark.parametrize(("claim", "text"), [
    (["admin", "support"], "[admin support]"), ([], "[]"), (1763985600, "1763985600"), (True, "true"),
    ("acme", "acme"), ({"b": 1, "a": "x"}, "map[a:x b:1]"),
])
def test_claims_are_handed_over_as_strings_as_the_jwt_authorizer_does(claim: Any, text: str) -> None:
    assert claim_text(claim) == text


def test_the_event_has_the_shape_of_the_real_events_api_gateway_sends(gateway: Gateway) -> None:
    real = load_event("chat")
    route, params = gateway.match("POST", "/api/v1/ai/chat")  # type: ignore[misc]
    claims = {"sub": "alice", "tenant_id": "acme", "roles": ["admin", "support"], "iat": 1763985600}
    event = build_event(request("POST", "/api/v1/ai/chat", body=b'{"message": "hi"}', headers=[
        ("Host", "127.0.0.1:3000"), ("Content-Type", "application/json"), ("Authorization", "Bearer x")]),
        route, params, claims, "127.0.0.1:3000")
    assert set(event) == set(real)
    assert set(event["requestContext"]) == set(real["requestContext"])
    assert set(event["requestContext"]["http"]) == set(real["requestContext"]["http"])
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "POST /api/v1/ai/chat", "/api/v1/ai/chat")
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["headers"]["content-type"] == "application/json", "header names are lower-cased"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {
        "sub": "alice", "tenant_id": "acme", "roles": "[admin support]", "iat": "1763985600"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"message": "hi"}', False)


def test_query_and_path_parameters_and_cookies_are_split_out_as_api_gateway_does(gateway: Gateway) -> None:
    route, params = gateway.match("GET", "/api/v1/ai/sessions/s1/history")  # type: ignore[misc]
    event = build_event(request(path="/api/v1/ai/sessions/s1/history", query="limit=5&tag=a&tag=b&cursor=x%2By",
                                headers=[("Cookie", "a=1; b=2"), ("X-Twice", "1"), ("x-twice", "2")]),
                        route, params, {"sub": "u"}, "localhost")
    assert event["queryStringParameters"] == {"limit": "5", "tag": "a,b", "cursor": "x+y"}
    assert event["rawQueryString"] == "limit=5&tag=a&tag=b&cursor=x%2By"
    assert event["pathParameters"] == {"session_id": "s1"}
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-twice"] == "1,2"
    assert "body" not in event


def test_a_request_without_query_or_path_parameters_has_neither_key(gateway: Gateway) -> None:
    route, params = gateway.match("GET", "/api/v1/ai/sessions/my")  # type: ignore[misc]
    event = build_event(request(path="/api/v1/ai/sessions/my"), route, params, None, "localhost")
    assert "queryStringParameters" not in event and "pathParameters" not in event
    assert "authorizer" not in event["requestContext"], "a public route has no authorizer context"


@pytest.mark.parametrize(("content_type", "text"), [
    ("application/json", True), ("application/json; charset=utf-8", True), ("text/plain", True),
    ("application/vnd.api+json", True), ("application/octet-stream", False), ("image/png", False), (None, False),
])
def test_text_bodies_stay_text_and_the_rest_arrive_base64_encoded(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_a_binary_body_is_base64_encoded_in_the_event(gateway: Gateway) -> None:
    route, params = gateway.match("POST", "/api/v1/ai/chat")  # type: ignore[misc]
    event = build_event(request("POST", "/api/v1/ai/chat", body=b"\xff\x00",
                                headers=[("Content-Type", "application/octet-stream")]), route, params, {}, "h")
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00"


def test_a_function_result_becomes_the_http_response_api_gateway_writes() -> None:
    plain = from_lambda({"statusCode": 201, "headers": {"Content-Type": "application/json", "X-N": 3},
                         "cookies": ["a=1"], "body": '{"ok": true}'})
    assert (plain.status, plain.body) == (201, b'{"ok": true}')
    assert ("X-N", "3") in plain.headers and ("set-cookie", "a=1") in plain.headers
    binary = from_lambda({"statusCode": 200, "body": base64.b64encode(b"\x1f\x8b").decode(), "isBase64Encoded": True})
    assert binary.body == b"\x1f\x8b"
    bare = from_lambda({"ok": True})
    assert (bare.status, json.loads(bare.body), bare.headers) == (200, {"ok": True}, [("content-type",
                                                                                        "application/json")])


# --- the app: authorizer, CORS and failures around fake functions -------------------------------------------------


class Recorder:
    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.result = result if result is not None else {"statusCode": 200, "body": "{}"}
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if self.error:
            raise self.error
        return self.result


def app_with(gateway: Gateway, handler: Recorder) -> Api:
    return Api(gateway, {route.function: handler for route in gateway.routes}, SECRET)


def bearer(**claims: Any) -> tuple[str, str]:
    return ("Authorization", "Bearer " + token.mint("alice", "acme", roles=["admin"], secret=SECRET, **claims))


def test_a_valid_token_reaches_the_function_with_string_claims_and_a_lambda_context(gateway: Gateway) -> None:
    handler = Recorder()
    reply = app_with(gateway, handler).handle(request("GET", "/api/v1/ai/sessions/my", headers=[bearer()]), "h")
    assert reply.status == 200
    claims = handler.events[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (claims["sub"], claims["tenant_id"], claims["roles"]) == ("alice", "acme", "[admin]")
    assert all(isinstance(v, str) for v in claims.values())
    context = handler.contexts[0]
    assert context.function_name == "ListSessionsFunction" and 0 < context.get_remaining_time_in_millis() <= 10_000


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not-a-jwt", "Basic YTpi"])
def test_without_a_valid_token_the_function_never_runs_and_the_answer_is_401(gateway: Gateway,
                                                                             authorization: str | None) -> None:
    handler = Recorder()
    headers = [] if authorization is None else [("Authorization", authorization)]
    reply = app_with(gateway, handler).handle(request("GET", "/api/v1/ai/sessions/my", headers=headers), "h")
    assert (reply.status, json.loads(reply.body)) == (401, {"message": "Unauthorized"})
    assert handler.events == []


def test_an_expired_token_is_401_and_says_why_in_www_authenticate(gateway: Gateway) -> None:
    reply = app_with(gateway, Recorder()).handle(
        request("GET", "/api/v1/ai/sessions/my", headers=[bearer(ttl_seconds=-1)]), "h")
    assert reply.status == 401
    assert dict(reply.headers)["www-authenticate"] == 'Bearer error="invalid_token" error_description="the token ' \
                                                      'has expired"'


def test_a_public_route_needs_no_token(gateway: Gateway) -> None:
    handler = Recorder()
    assert app_with(gateway, handler).handle(request("GET", "/openapi.json"), "h").status == 200
    assert handler.events and "authorizer" not in handler.events[0]["requestContext"]


def test_a_preflight_is_answered_by_the_gateway_and_replies_carry_cors_headers(gateway: Gateway) -> None:
    handler = Recorder()
    app = app_with(gateway, handler)
    origin = ("Origin", "http://localhost:5173")
    preflight = app.handle(request("OPTIONS", "/api/v1/ai/chat", headers=[origin]), "h")
    assert preflight.status == 204 and handler.events == []
    assert dict(preflight.headers)["access-control-allow-methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    reply = app.handle(request("GET", "/api/v1/ai/sessions/my", headers=[origin, bearer()]), "h")
    assert dict(reply.headers)["access-control-allow-origin"] == "*"
    assert dict(reply.headers)["access-control-expose-headers"] == "x-next-cursor,etag"


def test_an_origin_not_in_the_list_gets_no_cors_headers() -> None:
    cors = Cors(allow_origins=("https://app.example.com",), allow_methods=("GET",))
    assert cors.preflight_headers("https://evil.example.com") == {}
    assert cors.response_headers("https://app.example.com")["access-control-allow-origin"] == "https://app.example.com"


def test_a_function_that_raises_is_api_gateways_bare_500_without_the_traceback(gateway: Gateway,
                                                                               capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:
    handler = Recorder(error=RuntimeError("secret internals"))
    reply = app_with(gateway, handler).handle(request("GET", "/api/v1/ai/sessions/my", headers=[bearer()]), "h")
    assert (reply.status, json.loads(reply.body)) == (500, {"message": "Internal Server Error"})
    assert "secret internals" in capsys.readouterr().err, "the traceback goes to the server's log"


def test_the_root_is_the_demo_page_and_an_unknown_path_is_api_gateways_404(gateway: Gateway) -> None:
    app = app_with(gateway, Recorder())
    page = app.handle(request("GET", "/"), "h")
    assert page.status == 200 and b'href="docs"' in page.body
    missing = app.handle(request("GET", "/nothing/here"), "h")
    assert (missing.status, json.loads(missing.body)) == (404, {"message": "Not Found"})


# --- dev tokens -------------------------------------------------------------------------------------------------


def test_a_minted_token_verifies_with_or_without_the_bearer_prefix_and_carries_the_claims() -> None:
    minted = token.mint("alice", "acme", roles=["admin"], secret=SECRET, tenant_claim="custom:tenant_id",
                        roles_claim="cognito:groups")
    for header in (f"Bearer {minted}", f"bearer {minted}", minted):
        claims = token.verify(header, SECRET)
        assert (claims["sub"], claims["custom:tenant_id"], claims["cognito:groups"]) == ("alice", "acme", ["admin"])
        assert claims["exp"] > claims["iat"]


@pytest.mark.parametrize(("header", "reason"), [
    (None, "no Authorization header"),
    ("Bearer " + token.mint("a", "t", secret="another-secret-that-is-long-enough-too"), "Signature"),
    ("Bearer " + token.mint("a", "t", secret=SECRET, ttl_seconds=-5), "expired"),
    ("Bearer " + token.mint("a", "t", secret=SECRET, iss="someone-else"), "issuer"),
])
def test_a_token_that_api_gateway_would_refuse_is_refused_with_the_reason(header: str | None, reason: str) -> None:
    with pytest.raises(token.InvalidToken, match=reason):
        token.verify(header, SECRET)


def test_the_token_command_prints_an_admin_token_for_the_configured_claim_names(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOCAL_JWT_SECRET", SECRET)
    monkeypatch.setenv("TENANT_CLAIM", "org")
    token.main(["--user", "alice", "--tenant", "acme", "--admin"])
    claims = token.verify(capsys.readouterr().out.strip(), SECRET)
    assert (claims["org"], claims["roles"]) == ("acme", ["admin"])


def test_the_token_command_prints_a_staff_token_with_the_display_name_claim_it_is_configured_with(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOCAL_JWT_SECRET", SECRET)
    monkeypatch.setenv("DISPLAY_NAME_CLAIM", "nickname")
    token.main(["--user", "dana", "--tenant", "acme", "--role", "support", "--name", "Dana Reyes"])
    claims = token.verify(capsys.readouterr().out.strip(), SECRET)
    assert (claims["roles"], claims["nickname"], "name" in claims) == (["support"], "Dana Reyes", False)


def test_the_token_command_refuses_an_empty_user_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        token.main(["--user", "", "--tenant", "acme"])
    assert "user must not be empty" in capsys.readouterr().err
