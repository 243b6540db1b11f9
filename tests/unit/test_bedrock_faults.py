"""Bedrock failing, made to happen on the wire by tests/fake_bedrock.py and read by botocore's own client: each
exception Converse declares, a stream's exception events, a stream dropped or silent, an endpoint not there; then
failover both ways (Bedrock -> Anthropic, Anthropic -> Bedrock) under the rules every provider follows."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from bedrock_provider import CLAUDE, bedrock_provider, bedrock_request
from conftest import Api, FakeClock
from counters import day_counters
from fake_bedrock import DENIED_MESSAGE, STATUS, FakeBedrock, Reply
from fake_providers import FakeProviders, Scripted
from ledger_invariant import assert_invariant
from sdk_providers import real_provider

from aichat import wiring
from aichat.core.errors import ChatError, ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.core.settings import Settings
from aichat.providers.failover import Failover, RetryPolicy
from aichat.providers.faults import failed_mid_stream, incomplete, stream_cut, timed_out, unreachable
from aichat.providers.interface import Completion, ModelRoute, Provider, StreamPart, TextDelta

DAY = "2026-11-24"
# Each exception Converse and ConverseStream declare, and whether trying again (or the fallback) may help.
TRANSIENT = ["ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException", "ModelTimeoutException",
             "ModelErrorException", "InternalServerException"]
REFUSED = ["ResourceNotFoundException", "ValidationException"]


def fails(provider: Provider, **changes: Any) -> ChatError:
    with pytest.raises(ChatError) as raised:
        provider.complete(bedrock_request(**changes))
    return raised.value


# --- each exception, answered before any byte of a reply ------------------------------------------------------------


@pytest.mark.parametrize("in_body", [False, True], ids=["x-amzn-errortype", "__type"])
@pytest.mark.parametrize("name", TRANSIENT)
def test_a_transient_exception_is_a_transient_502_and_botocore_does_not_retry_it(
        name: str, in_body: bool, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(error=name, error_in_body=in_body))
    error = fails(bedrock_provider(fake_bedrock))
    assert isinstance(error, ProviderError) and error.transient and error.status == 502
    assert len(fake_bedrock.requests) == 1, "botocore's own retries are off: failover is the one place that retries"
    assert "Exception" not in error.detail, "no internal name reaches a client"


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_request_is_a_502_neither_retried_nor_fallen_back_from(name: str, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(error=name))
    error = fails(bedrock_provider(fake_bedrock))
    assert isinstance(error, ProviderError) and not error.transient
    assert f"HTTP {STATUS[name]}" in error.detail


@pytest.mark.parametrize("name", ["AccessDeniedException", "UnrecognizedClientException"])
def test_access_denied_is_503_not_configured_with_the_iam_action_and_model_only_in_the_log_and_a_metric(
        name: str, fake_bedrock: FakeBedrock, capsys: pytest.CaptureFixture[str]) -> None:
    message = DENIED_MESSAGE if name == "AccessDeniedException" else "The security token included is invalid."
    fake_bedrock.enqueue(Reply(error=name, message=message))
    error = fails(bedrock_provider(fake_bedrock))
    assert isinstance(error, ProviderNotConfigured) and error.status == 503
    assert error.code == "provider_not_configured"
    assert "bedrock:" not in error.detail and "arn:" not in error.detail and CLAUDE not in error.detail
    assert error.__cause__ is None and error.__suppress_context__, "the service's message names the account's role"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (logged,) = [line for line in lines if line.get("message") == "bedrock access denied"]
    assert (logged["model"], logged["error"]) == (CLAUDE, name)
    assert logged.get("iam_action") == ("bedrock:InvokeModel" if name == "AccessDeniedException" else None)
    assert "123456789012" not in json.dumps(logged), "the role's ARN is not logged"
    (metric,) = [line for line in lines if "ProviderAccessDenied" in line]
    assert (metric["provider"], metric["model"], metric["ProviderAccessDenied"]) == ("bedrock", CLAUDE, [1.0])


def test_no_answer_within_the_read_timeout_is_a_504(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(delay=3))
    error = fails(bedrock_provider(fake_bedrock, timeout=0.3))
    assert isinstance(error, ProviderTimeout) and error.detail == timed_out().detail
    assert len(fake_bedrock.requests) == 1


def test_an_endpoint_not_there_is_a_transient_502() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone: Any = type("Gone", (), {"url": f"http://127.0.0.1:{port}"})()
    error = fails(bedrock_provider(gone))
    assert isinstance(error, ProviderError) and error.transient and error.detail == unreachable().detail


# --- inside a stream -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["modelStreamErrorException", "internalServerException", "throttlingException",
                                  "serviceUnavailableException"])
def test_a_streams_exception_event_after_text_is_raised_after_that_text_as_a_failure_mid_stream(
        name: Any, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(deltas=["Check ", "the cable"], exception_event=name, fault_after=2))
    parts: list[StreamPart] = []
    with pytest.raises(ProviderError) as raised:
        parts.extend(bedrock_provider(fake_bedrock).stream(bedrock_request()))
    assert [p.text for p in parts if isinstance(p, TextDelta)] == ["Check "]
    assert raised.value.detail == failed_mid_stream().detail and raised.value.transient


def test_a_streams_validation_exception_event_is_a_refusal_not_retried(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(exception_event="validationException", fault_after=1))
    with pytest.raises(ProviderError) as raised:
        list(bedrock_provider(fake_bedrock).stream(bedrock_request()))
    assert not raised.value.transient


def test_a_stream_dropped_mid_frame_is_a_provider_that_could_not_be_reached(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(deltas=["Check "], fault="drop"))
    with pytest.raises(ProviderError) as raised:
        list(bedrock_provider(fake_bedrock).stream(bedrock_request()))
    assert raised.value.detail == unreachable().detail and raised.value.transient


def test_a_silent_stream_times_out_at_the_read_timeout(fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(deltas=["Check "], fault="silence"))
    with pytest.raises(ProviderTimeout):
        list(bedrock_provider(fake_bedrock, timeout=0.4).stream(bedrock_request()))


@pytest.mark.parametrize("name", ["ThrottlingException", "AccessDeniedException", "ValidationException"])
def test_a_stream_refused_before_it_began_fails_as_converse_does(name: str, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.enqueue(Reply(error=name), Reply(error=name))
    with pytest.raises(ChatError) as streamed:
        list(bedrock_provider(fake_bedrock).stream(bedrock_request()))
    plain = fails(bedrock_provider(fake_bedrock))
    assert (type(streamed.value), streamed.value.detail) == (type(plain), plain.detail)


# --- failover, both ways -------------------------------------------------------------------------------------------


ROUTES = {"bedrock": ModelRoute("bedrock", CLAUDE), "anthropic": ModelRoute("anthropic", "claude-haiku-4-5")}


def chain(fake_bedrock: FakeBedrock, fake: FakeProviders, *, retries: int = 0) -> Failover:
    providers: dict[str, Provider] = {"bedrock": bedrock_provider(fake_bedrock),
                                      "anthropic": real_provider("anthropic", fake)}
    return Failover(providers.__getitem__, RetryPolicy(max_retries=retries, attempt_timeout=5, deadline=20),
                    rng=lambda: 0.0, sleep=lambda _: None)


def test_bedrock_throttled_after_its_retries_falls_back_to_anthropic(
        fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake_bedrock.enqueue(Reply(error="ThrottlingException"), Reply(error="ThrottlingException"))
    route, completion = chain(fake_bedrock, fake, retries=1).complete(
        [ROUTES["bedrock"], ROUTES["anthropic"]], bedrock_request())
    assert route == ROUTES["anthropic"] and completion.provider == "anthropic"
    assert len(fake_bedrock.requests) == 2 and len(fake.sent("anthropic")) == 1


def test_anthropic_overloaded_falls_back_to_bedrock(fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(status=529))
    route, completion = chain(fake_bedrock, fake).complete([ROUTES["anthropic"], ROUTES["bedrock"]],
                                                           bedrock_request())
    assert route == ROUTES["bedrock"] and completion.provider == "bedrock" and completion.model == CLAUDE
    assert fake_bedrock.requests[0].model == CLAUDE, "the fallback is asked for its own model"


def test_a_refusal_from_bedrock_is_not_fallen_back_from(fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake_bedrock.enqueue(Reply(error="ValidationException"))
    with pytest.raises(ProviderError):
        chain(fake_bedrock, fake).complete([ROUTES["bedrock"], ROUTES["anthropic"]], bedrock_request())
    assert fake.sent("anthropic") == []


def streamed_through(failover: Failover, routes: list[ModelRoute]) -> tuple[list[Any], BaseException | None]:
    parts: list[Any] = []
    try:
        for route, part in failover.stream(routes, bedrock_request(), failover.start(), lambda: False, 0.05):
            parts.append((route.provider, part))
    except BaseException as e:  # the test reads what it was
        return parts, e
    return parts, None


def test_a_stream_exception_event_before_any_text_falls_back_to_anthropic_which_streams_the_reply(
        fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake_bedrock.enqueue(Reply(exception_event="modelStreamErrorException", fault_after=1))
    parts, error = streamed_through(chain(fake_bedrock, fake), [ROUTES["bedrock"], ROUTES["anthropic"]])
    assert error is None and {provider for provider, _ in parts} == {"anthropic"}
    assert isinstance(parts[-1][1], Completion) and parts[-1][1].provider == "anthropic"


def test_anthropic_failing_before_its_stream_falls_back_to_bedrocks_stream(
        fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(status=529))
    fake_bedrock.enqueue(Reply(deltas=["From ", "Bedrock."]))
    parts, error = streamed_through(chain(fake_bedrock, fake), [ROUTES["anthropic"], ROUTES["bedrock"]])
    assert error is None
    assert [p.text for _, p in parts if isinstance(p, TextDelta)] == ["From ", "Bedrock."]
    assert {provider for provider, _ in parts} == {"bedrock"}


@pytest.mark.parametrize("reply", [Reply(deltas=["Check ", "it"], exception_event="modelStreamErrorException",
                                         fault_after=2),
                                   Reply(deltas=["Check ", "it"], fault="drop"),
                                   Reply(deltas=["Check ", "it"], fault="end")], ids=["event", "drop", "end"])
def test_bedrock_failing_after_its_first_text_is_a_cut_stream_neither_retried_nor_fallen_back_from(
        reply: Reply, fake_bedrock: FakeBedrock, fake: FakeProviders) -> None:
    fake_bedrock.enqueue(reply)
    parts, error = streamed_through(chain(fake_bedrock, fake, retries=2), [ROUTES["bedrock"], ROUTES["anthropic"]])
    assert isinstance(error, ProviderError) and error.detail == stream_cut().detail
    assert isinstance(error.__cause__, ProviderError)
    assert error.__cause__.detail in (failed_mid_stream().detail, unreachable().detail, incomplete().detail)
    assert parts and all(provider == "bedrock" for provider, _ in parts)
    assert len(fake_bedrock.requests) == 1 and fake.sent("anthropic") == []


# --- through POST /chat, with the money ----------------------------------------------------------------------------


@pytest.fixture
def with_fallback(bedrock_settings: Settings, fake: FakeProviders) -> Settings:
    return bedrock_settings.model_copy(update={
        "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": fake.anthropic_url,
        "LLM_FALLBACK_PROVIDER": "anthropic", "LLM_FALLBACK_MODEL": "claude-sonnet-4-6"})


def api_for(settings: Settings, dynamodb: Any, sns: Any, clock: FakeClock) -> Api:
    return Api(wiring.build(settings, dynamodb=dynamodb, sns=sns, clock=clock))


def test_a_chat_bedrock_cannot_answer_is_answered_by_the_fallback_and_charged_at_the_fallbacks_price(
        with_fallback: Settings, fake_bedrock: FakeBedrock, fake: FakeProviders, dynamodb: Any, sns: Any,
        clock: FakeClock) -> None:
    fake_bedrock.enqueue(Reply(error="ServiceUnavailableException"), Reply(error="ServiceUnavailableException"))
    api = api_for(with_fallback, dynamodb, sns, clock)
    reply = api.chat("My internet is down")
    assert reply.status == 200, reply.body
    meta = reply.body["metadata"]
    assert meta["provider"] == "anthropic"
    cost = PriceTable().cost_micros("claude-sonnet-4-6", Counted(input_tokens=40, output_tokens=12))
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost
    assert_invariant(dynamodb, "ai-chat")


def test_the_reservation_covers_the_dearer_of_bedrocks_model_and_the_fallback(
        with_fallback: Settings, fake_bedrock: FakeBedrock, dynamodb: Any, sns: Any, clock: FakeClock) -> None:
    prices = PriceTable()
    assert prices.price("claude-sonnet-4-6").output > prices.price(CLAUDE).output
    api = api_for(with_fallback.model_copy(update={"SESSION_COST_LIMIT_CENTS": 0.5}), dynamodb, sns, clock)
    # 500 output tokens at Sonnet's $15/M are 0.75 cents: past the session's limit, though Haiku's would fit.
    reply = api.chat("Hello")
    assert reply.status == 400 and reply.body["code"] == "session_cost_limit_exceeded"
    assert fake_bedrock.requests == []


@pytest.mark.parametrize("name", ["AccessDeniedException", "ValidationException", "ThrottlingException"])
def test_a_chat_bedrock_refuses_releases_the_reservation_keeps_the_message_and_says_what_to_do(
        name: str, bedrock_api: Api, fake_bedrock: FakeBedrock, dynamodb: Any) -> None:
    fake_bedrock.enqueue(*[Reply(error=name, message=DENIED_MESSAGE)] * 2)
    reply = bedrock_api.chat("Hello")
    expected = {"AccessDeniedException": (503, "provider_not_configured"),
                "ValidationException": (502, "provider_error"), "ThrottlingException": (502, "provider_error")}
    assert (reply.status, reply.body["code"]) == expected[name]
    assert "bedrock:" not in json.dumps(reply.body) and "arn:aws" not in json.dumps(reply.body)
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == 0
    history = bedrock_api.invoke("get_history", session_id=reply.body["session_id"]).body["messages"]
    assert [m["status"] for m in history] == ["failed"]
    assert_invariant(dynamodb, "ai-chat")
