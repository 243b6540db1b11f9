"""The OpenAI and Anthropic adapters, through their real SDKs, against a loopback server speaking each wire format.

No network beyond 127.0.0.1: the SDKs are pointed at tests/fake_providers.py by their base URL settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fake_providers import FakeProviders, Scripted, Usage

from aichat.core.errors import ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.providers.anthropic import AnthropicProvider
from aichat.providers.failover import Failover, RetryPolicy
from aichat.providers.faults import retry_after_seconds
from aichat.providers.interface import CompletionRequest, ModelRoute, Provider, Turn
from aichat.providers.openai import OpenAIProvider

OPENAI_KEY = "sk-test-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-test-0123456789"


def openai_provider(fake: FakeProviders, timeout: float = 2.0, parameter: Any = "max_completion_tokens"
                    ) -> OpenAIProvider:
    return OpenAIProvider(OPENAI_KEY, base_url=fake.openai_url, timeout=timeout, max_tokens_parameter=parameter)


def anthropic_provider(fake: FakeProviders, timeout: float = 2.0) -> AnthropicProvider:
    return AnthropicProvider(ANTHROPIC_KEY, base_url=fake.anthropic_url, timeout=timeout)


def build(api: str, fake: FakeProviders, timeout: float = 2.0) -> Provider:
    return openai_provider(fake, timeout) if api == "openai" else anthropic_provider(fake, timeout)


def request(model: str = "gpt-4o-mini", **changes: Any) -> CompletionRequest:
    fields: dict[str, Any] = dict(
        model=model, system="You are a support assistant. Be brief.", max_tokens=64, temperature=0.3,
        messages=(Turn("user", "My router blinks red."), Turn("assistant", "Is the cable in?"),
                  Turn("user", "Yes, it is.")),
    )
    fields.update(changes)
    return CompletionRequest(**fields)


# --- what each SDK sends --------------------------------------------------------------------------------------------


def test_openai_gets_the_system_prompt_as_the_first_message_with_model_max_tokens_and_temperature(
        fake: FakeProviders) -> None:
    openai_provider(fake).complete(request())
    (sent,) = fake.sent("openai")
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [
        {"role": "system", "content": "You are a support assistant. Be brief."},
        {"role": "user", "content": "My router blinks red."},
        {"role": "assistant", "content": "Is the cable in?"},
        {"role": "user", "content": "Yes, it is."},
    ]
    assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent
    assert sent["temperature"] == 0.3
    assert "stream" not in sent or sent["stream"] is False


def test_openai_sends_max_tokens_instead_for_servers_that_only_read_it(fake: FakeProviders) -> None:
    openai_provider(fake, parameter="max_tokens").complete(request(temperature=None))
    (sent,) = fake.sent("openai")
    assert sent["max_tokens"] == 64 and "max_completion_tokens" not in sent
    assert "temperature" not in sent


def test_anthropic_gets_the_system_prompt_as_system_and_max_tokens_without_sampling_settings(
        fake: FakeProviders) -> None:
    anthropic_provider(fake).complete(request("claude-haiku-4-5"))
    (sent,) = fake.sent("anthropic")
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["system"] == "You are a support assistant. Be brief."
    assert sent["messages"] == [
        {"role": "user", "content": "My router blinks red."},
        {"role": "assistant", "content": "Is the cable in?"},
        {"role": "user", "content": "Yes, it is."},
    ]
    assert sent["max_tokens"] == 64 and "temperature" not in sent


def test_each_sdk_sends_its_key_in_its_own_header(fake: FakeProviders) -> None:
    openai_provider(fake).complete(request())
    anthropic_provider(fake).complete(request("claude-haiku-4-5"))
    openai_headers, anthropic_headers = (r.headers for r in fake.requests)
    assert openai_headers["authorization"] == f"Bearer {OPENAI_KEY}"
    # This SDK sends the key as a Bearer token; earlier ones used x-api-key.
    assert ANTHROPIC_KEY in (anthropic_headers.get("x-api-key"),
                             anthropic_headers.get("authorization", "").removeprefix("Bearer "))


# --- what comes back -------------------------------------------------------------------------------------------------


def test_openai_cached_prompt_tokens_are_cache_reads_not_input(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(usage=Usage(input=300, cache_read=1200, output=80), text="Try a restart."))
    completion = openai_provider(fake).complete(request())
    assert completion.text == "Try a restart." and completion.provider == "openai"
    assert completion.usage == Counted(input_tokens=300, output_tokens=80, cache_read_tokens=1200)
    assert completion.model == "gpt-4o-mini-2026-01-01" and completion.stop_reason == "stop"
    # 300 x $0.15 + 1200 x $0.075 + 80 x $0.60 per million = 45 + 90 + 48 micro-USD.
    assert PriceTable().cost_micros("gpt-4o-mini", completion.usage) == 183


def test_anthropic_reports_cache_reads_and_writes_from_its_usage_fields(fake: FakeProviders) -> None:
    fake.enqueue("anthropic", Scripted(usage=Usage(input=50, cache_read=1000, cache_write=200, output=40)))
    completion = anthropic_provider(fake).complete(request("claude-haiku-4-5"))
    assert completion.usage == Counted(input_tokens=50, output_tokens=40, cache_read_tokens=1000,
                                       cache_write_tokens=200)
    assert completion.provider == "anthropic" and completion.stop_reason == "end_turn"
    # 50 x $1 + 40 x $5 + 1000 x $0.10 + 200 x $1.25 per million = 50 + 200 + 100 + 250 micro-USD.
    assert PriceTable().cost_micros("claude-haiku-4-5", completion.usage) == 600


# --- faults, for both SDKs --------------------------------------------------------------------------------------------

APIS = ["openai", "anthropic"]


@pytest.mark.parametrize("api", APIS)
def test_a_429_is_a_transient_error_carrying_retry_after_and_the_sdk_does_not_retry_it(
        api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=429, headers={"retry-after": "7"}))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as raised:
        build(api, fake).complete(request())
    assert raised.value.transient and raised.value.retry_after == 7.0
    assert raised.value.status == 502 and "too many requests" in raised.value.detail
    assert len(fake.requests) == 1, "the SDK's own retries must be off: failover is the one place that retries"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("status", [500, 503, 529])
def test_a_5xx_is_a_transient_502(api: str, status: int, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=status))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as raised:
        build(api, fake).complete(request())
    assert raised.value.transient and raised.value.code == "provider_error"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_no_answer_within_the_timeout_is_a_504(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(delay=3))  # type: ignore[arg-type]
    with pytest.raises(ProviderTimeout) as raised:
        build(api, fake, timeout=0.3).complete(request())
    assert raised.value.status == 504 and raised.value.code == "provider_timeout"
    assert "send it again" in raised.value.detail


@pytest.mark.parametrize("api", APIS)
def test_the_per_call_timeout_overrides_the_clients(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(delay=3))  # type: ignore[arg-type]
    started = datetime.now(UTC)
    with pytest.raises(ProviderTimeout):
        build(api, fake, timeout=30).complete(request(timeout_seconds=0.3))
    assert (datetime.now(UTC) - started).total_seconds() < 2


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("raw", [b"{not json", b"<html>502 Bad Gateway</html>", b'{"unexpected": true}',
                                 b'{"choices": [], "content": [], "usage": null}'])
def test_a_malformed_answer_is_a_502_that_is_not_retried(api: str, raw: bytes, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(raw=raw))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as raised:
        build(api, fake).complete(request())
    assert not raised.value.transient and raised.value.status == 502
    assert "could not be read" in raised.value.detail


@pytest.mark.parametrize("api", APIS)
def test_a_refused_key_is_503_naming_the_variable_and_never_the_key(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=401))  # type: ignore[arg-type]
    with pytest.raises(ProviderNotConfigured) as raised:
        build(api, fake).complete(request())
    assert raised.value.status == 503
    assert f"{api.upper()}_API_KEY" in raised.value.detail
    assert OPENAI_KEY not in raised.value.detail and ANTHROPIC_KEY not in raised.value.detail
    assert raised.value.__cause__ is None, "the SDK's error (which may quote the key) is not chained"


@pytest.mark.parametrize("api", APIS)
def test_a_400_is_not_transient(api: str, fake: FakeProviders) -> None:
    fake.enqueue(api, Scripted(status=400))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as raised:
        build(api, fake).complete(request())
    assert not raised.value.transient


def test_a_closed_port_is_a_transient_502() -> None:
    server = FakeProviders()
    url = server.openai_url
    server.close()
    provider = OpenAIProvider(OPENAI_KEY, base_url=url, timeout=1, max_tokens_parameter="max_completion_tokens")
    with pytest.raises(ProviderError) as raised:
        provider.complete(request())
    assert raised.value.transient and "could not be reached" in raised.value.detail


# --- retries and fallback, through the real SDKs ----------------------------------------------------------------------


class Waits:
    """A sleep that records instead of waiting, and a clock it moves."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def failover(fake: FakeProviders, waits: Waits | None = None, *, retries: int = 2, deadline: float = 20,
             timeout: float = 2.0) -> Failover:
    providers: dict[str, Provider] = {"openai": openai_provider(fake, timeout),
                                      "anthropic": anthropic_provider(fake, timeout)}
    policy = RetryPolicy(max_retries=retries, attempt_timeout=timeout, deadline=deadline)
    if waits is None:
        return Failover(providers.__getitem__, policy, rng=lambda: 0.5)
    return Failover(providers.__getitem__, policy, sleep=waits.sleep, monotonic=waits.monotonic, rng=lambda: 0.5)


BOTH = [ModelRoute("openai", "gpt-4o-mini"), ModelRoute("anthropic", "claude-haiku-4-5")]


def test_a_429_is_retried_after_the_wait_it_asks_for_and_then_answered(fake: FakeProviders) -> None:
    waits = Waits()
    fake.enqueue("openai", Scripted(status=429, headers={"retry-after": "1"}))
    route, completion = failover(fake, waits).complete(BOTH, request())
    assert route == BOTH[0] and completion.provider == "openai"
    assert waits.slept == [1.0]
    assert len(fake.sent("openai")) == 2 and fake.sent("anthropic") == []


def test_a_429_that_outlasts_the_retries_falls_back_to_the_other_provider(fake: FakeProviders) -> None:
    waits = Waits()
    fake.enqueue("openai", *[Scripted(status=429, headers={"retry-after": "0"})] * 3)
    route, completion = failover(fake, waits).complete(BOTH, request())
    assert route == BOTH[1] and completion.provider == "anthropic"
    assert len(fake.sent("openai")) == 3, "one call and two retries"
    (sent,) = fake.sent("anthropic")
    assert sent["model"] == "claude-haiku-4-5" and sent["system"] == request().system
    assert len(waits.slept) == 2 and all(0 < w <= 4 for w in waits.slept), "backoff with jitter, not zero"


def test_a_5xx_is_retried_then_falls_back(fake: FakeProviders) -> None:
    fake.enqueue("anthropic", *[Scripted(status=500)] * 2)
    route, _ = failover(fake, Waits(), retries=1).complete(list(reversed(BOTH)), request("claude-haiku-4-5"))
    assert route == BOTH[0]
    assert len(fake.sent("anthropic")) == 2 and fake.sent("openai")[0]["model"] == "gpt-4o-mini"


def test_a_timeout_falls_back_at_once_without_retrying_the_slow_provider(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(delay=3))
    route, _ = failover(fake, timeout=0.3, deadline=5).complete(BOTH, request())
    assert route == BOTH[1]
    assert len(fake.sent("openai")) == 1


def test_a_refusal_does_not_fall_back(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(status=400), Scripted(raw=b"{oops"))
    with pytest.raises(ProviderError):
        failover(fake, Waits()).complete(BOTH, request())
    with pytest.raises(ProviderError):
        failover(fake, Waits()).complete(BOTH, request())
    assert len(fake.sent("openai")) == 2 and fake.sent("anthropic") == []


def test_when_every_provider_fails_the_last_error_is_raised(fake: FakeProviders) -> None:
    fake.enqueue("openai", Scripted(status=503))
    fake.enqueue("anthropic", Scripted(delay=3))
    with pytest.raises(ProviderTimeout):
        failover(fake, retries=0, timeout=0.3, deadline=5).complete(BOTH, request())


def test_a_retry_after_longer_than_the_deadline_allows_skips_to_the_fallback(fake: FakeProviders) -> None:
    waits = Waits()
    fake.enqueue("openai", Scripted(status=429, headers={"retry-after": "30"}))
    route, _ = failover(fake, waits, deadline=10).complete(BOTH, request())
    assert route == BOTH[1] and waits.slept == []


def test_no_attempt_starts_after_the_deadline(fake: FakeProviders) -> None:
    waits = Waits()

    class Slow:
        name = "openai"

        def complete(self, request: CompletionRequest) -> Any:
            waits.now += 9.5  # a 5xx after most of the deadline
            raise ProviderError("failed", transient=True)

    policy = RetryPolicy(max_retries=3, attempt_timeout=5, deadline=10)
    chain = Failover({"openai": Slow(), "anthropic": anthropic_provider(fake)}.__getitem__, policy,
                     sleep=waits.sleep, monotonic=waits.monotonic)
    with pytest.raises(ProviderError):
        chain.complete(BOTH, request())
    assert fake.requests == [] and waits.slept == []


def test_each_attempt_gets_no_more_time_than_the_deadline_has_left(fake: FakeProviders) -> None:
    seen: list[float | None] = []

    class Recording:
        name = "openai"

        def complete(self, request: CompletionRequest) -> Any:
            seen.append(request.timeout_seconds)
            waits.now += 1  # each refusal takes a second
            raise ProviderError("busy", transient=True, retry_after=2)

    waits = Waits()
    policy = RetryPolicy(max_retries=5, attempt_timeout=4, deadline=7)
    with pytest.raises(ProviderError):
        Failover({"openai": Recording()}.__getitem__, policy, sleep=waits.sleep,
                 monotonic=waits.monotonic).complete(BOTH[:1], request())
    # Attempts start at 0 s, 3 s and 6 s (each takes 1 s, each wait 2 s): the last has only 1 s left.
    assert seen == [4, 4, 1]
    assert waits.now <= policy.deadline


def test_a_fallback_without_a_key_leaves_the_first_error_standing(fake: FakeProviders) -> None:
    def get(name: str) -> Provider:
        if name == "anthropic":
            raise ProviderNotConfigured("no key")
        return openai_provider(fake)

    fake.enqueue("openai", Scripted(status=500))
    with pytest.raises(ProviderError) as raised:
        Failover(get, RetryPolicy(max_retries=0, attempt_timeout=2, deadline=10)).complete(BOTH, request())
    assert raised.value.code == "provider_error"


def test_backoff_is_full_jitter_doubling_up_to_a_cap() -> None:
    policy = RetryPolicy(max_retries=5, attempt_timeout=10, deadline=20, base_delay=0.5, max_delay=4)
    assert [policy.backoff(n, lambda: 1.0) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.backoff(3, lambda: 0.25) == 1.0


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "3"}, 3.0), ({"retry-after": "1.5"}, 1.5), ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT"}, 30.0), ({}, None), ({"retry-after": "soon"}, None),
])
def test_retry_after_is_read_in_each_form_providers_send(headers: dict[str, str], seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds(headers, now=now) == seconds


def test_each_sdk_calls_its_own_endpoint_with_the_key_in_its_own_header_and_a_json_body(fake: FakeProviders) -> None:
    openai_provider(fake).complete(request())
    anthropic_provider(fake).complete(request("claude-haiku-4-5"))
    to_openai, to_anthropic = fake.requests
    assert (to_openai.api, to_openai.path) == ("openai", "/v1/chat/completions")
    assert to_openai.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert (to_anthropic.api, to_anthropic.path) == ("anthropic", "/v1/messages")
    # The Anthropic SDK sends its key as x-api-key or, in later versions, as a bearer token.
    sent_key = to_anthropic.headers.get("x-api-key") or to_anthropic.headers["authorization"].removeprefix("Bearer ")
    assert sent_key == ANTHROPIC_KEY
    assert to_anthropic.headers["anthropic-version"], "the API refuses a request without its version"
    for sent in (to_openai, to_anthropic):
        assert sent.headers["content-type"] == "application/json"
        assert sent.body["model"] in ("gpt-4o-mini", "claude-haiku-4-5")
