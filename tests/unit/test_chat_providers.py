"""POST /chat on the real provider SDKs (a loopback fake of each API), moto DynamoDB behind: costs, fallback, faults.

Every case checks the money: what the counters hold after the turn, settled at the real cost or released in full.
"""

from __future__ import annotations

import json
from typing import Any

import aws_clients
import pytest
from conftest import Api, FakeClock
from counters import day_counters
from fake_providers import FakeProviders, Scripted, Usage

from aichat import wiring
from aichat.core import settings as settings_module
from aichat.core.errors import ConfigurationError
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.core.settings import Settings

OPENAI_KEY = "sk-test-openai-secret-value"
ANTHROPIC_KEY = "sk-ant-test-secret-value"
DAY = "2026-11-24"


@pytest.fixture
def base(topic_arn: str, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """OpenAI by default, Anthropic configured too, both at the fake; timeouts short enough to keep the fault tests
    fast (a Scripted(delay=3) times out), long enough that a first call on a loaded machine does not."""
    monkeypatch.setenv("TABLE_NAME", "ai-chat")
    settings_module.load_settings.cache_clear()
    wiring.services.cache_clear()
    return Settings(
        TABLE_NAME="ai-chat", ESCALATION_TOPIC_ARN=topic_arn, TENANT_CONFIG_TTL_SECONDS=0,
        LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=fake.openai_url,
        ANTHROPIC_API_KEY=ANTHROPIC_KEY, ANTHROPIC_BASE_URL=fake.anthropic_url,
        LLM_TIMEOUT_SECONDS=1.5, LLM_DEADLINE_SECONDS=5, LLM_MAX_RETRIES=1,
    )


def api_for(settings: Settings, dynamodb: Any, sns: Any, clock: FakeClock) -> Api:
    return Api(wiring.build(settings, dynamodb=dynamodb, sns=sns, clock=clock))


def counter(dynamodb: Any, user: str | None = None) -> dict[str, int]:
    return day_counters(dynamodb, "acme", DAY, user)


def micros(cents: float) -> int:
    return round(cents * 10_000)


# --- costs ------------------------------------------------------------------------------------------------------------


def test_a_chat_through_openai_is_charged_its_reported_usage_at_the_models_price(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    api = api_for(base, dynamodb, sns, clock)
    fake.enqueue("openai", Scripted(usage=Usage(input=120, cache_read=64, output=30), text="Restart the router."))
    reply = api.chat("My internet is down")
    assert reply.status == 200, reply.body
    meta = reply.body["metadata"]
    assert reply.body["message"] == "Restart the router."
    assert (meta["provider"], meta["model"]) == ("openai", "gpt-4o-mini-2026-01-01")
    cost = PriceTable().cost_micros("gpt-4o-mini", Counted(input_tokens=120, output_tokens=30, cache_read_tokens=64))
    assert micros(meta["cost_cents"]) == cost > 0
    assert (meta["input_tokens"], meta["output_tokens"], meta["tokens"]) == (184, 30, 214)
    assert counter(dynamodb)["cost_micros"] == cost, "the reservation was replaced by the real cost"
    (sent,) = fake.sent("openai")
    assert sent["model"] == "gpt-4o-mini" and sent["max_completion_tokens"] == base.MAX_TOKENS
    assert sent["messages"][0]["role"] == "system" and "customer support" in sent["messages"][0]["content"]
    assert sent["messages"][1:] == [{"role": "user", "content": "My internet is down"}]


def test_a_chat_through_anthropic_counts_cache_reads_and_writes(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    api = api_for(base.model_copy(update={"LLM_PROVIDER": "anthropic", "LLM_MODEL": "claude-sonnet-4-6"}),
                  dynamodb, sns, clock)
    fake.enqueue("anthropic", Scripted(usage=Usage(input=90, cache_read=40, cache_write=20, output=25)))
    reply = api.chat("Explain my bill")
    assert reply.status == 200, reply.body
    cost = PriceTable().cost_micros("claude-sonnet-4-6", Counted(90, 25, 40, 20))
    assert micros(reply.body["metadata"]["cost_cents"]) == cost == counter(dynamodb)["cost_micros"]
    (sent,) = fake.sent("anthropic")
    assert sent["model"] == "claude-sonnet-4-6" and "customer support" in sent["system"]
    assert sent["messages"] == [{"role": "user", "content": "Explain my bill"}]
    assert sent["max_tokens"] == base.MAX_TOKENS


def test_the_second_turn_sends_the_history_to_the_model(base: Settings, dynamodb: Any, sns: Any, clock: FakeClock,
                                                         fake: FakeProviders) -> None:
    api = api_for(base, dynamodb, sns, clock)
    fake.enqueue("openai", Scripted(text="Which model is it?"))
    session_id = api.chat("My router blinks").body["session_id"]
    assert api.chat("An R7000", session_id).status == 200
    assert [m["content"] for m in fake.sent("openai")[1]["messages"][1:]] == [
        "My router blinks", "Which model is it?", "An R7000"]


# --- fallback ---------------------------------------------------------------------------------------------------------


def test_the_fallback_answers_a_failing_provider_and_is_charged_at_its_own_price(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    settings = base.model_copy(update={"LLM_FALLBACK_PROVIDER": "anthropic", "LLM_FALLBACK_MODEL": "claude-haiku-4-5"})
    api = api_for(settings, dynamodb, sns, clock)
    fake.enqueue("openai", Scripted(status=500), Scripted(status=502))
    fake.enqueue("anthropic", Scripted(usage=Usage(input=70, output=15)))
    reply = api.chat("Hello?")
    assert reply.status == 200, reply.body
    assert (reply.body["metadata"]["provider"], reply.body["metadata"]["model"]) == (
        "anthropic", "claude-haiku-4-5-2026-01-01")
    cost = PriceTable().cost_micros("claude-haiku-4-5", Counted(70, 15))
    assert micros(reply.body["metadata"]["cost_cents"]) == cost == counter(dynamodb)["cost_micros"]
    assert len(fake.sent("openai")) == 2, "one call and one retry before falling back"
    session = api.invoke("get_history", session_id=reply.body["session_id"]).body["metadata"]
    assert session["provider"] == "openai", "the session keeps its own provider for the next turn"


def test_a_timeout_falls_back_at_once(base: Settings, dynamodb: Any, sns: Any, clock: FakeClock,
                                      fake: FakeProviders) -> None:
    api = api_for(base.model_copy(update={"LLM_FALLBACK_PROVIDER": "anthropic"}), dynamodb, sns, clock)
    fake.enqueue("openai", Scripted(delay=3))
    reply = api.chat("Hello?")
    assert reply.status == 200 and reply.body["metadata"]["provider"] == "anthropic"
    assert len(fake.sent("openai")) == 1


def test_the_reservation_covers_the_dearer_of_the_sessions_model_and_the_fallback(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    # gpt-4o-mini's worst case is a few hundredths of a cent; claude-opus-4-1's is several cents.
    limit = {"SESSION_COST_LIMIT_CENTS": 1}
    assert api_for(base.model_copy(update=limit), dynamodb, sns, clock).chat("hi").status == 200
    dear = base.model_copy(update={**limit, "LLM_FALLBACK_PROVIDER": "anthropic",
                                   "LLM_FALLBACK_MODEL": "claude-opus-4-1"})
    refused = api_for(dear, dynamodb, sns, clock).chat("hi")
    assert refused.status == 400 and refused.body["code"] == "session_cost_limit_exceeded"
    assert len(fake.requests) == 1, "the refused turn called no model"


# --- faults: the status, the money released, the message kept ------------------------------------------------------


@pytest.mark.parametrize(("script", "status", "code", "calls"), [
    (Scripted(delay=3), 504, "provider_timeout", 1),
    (Scripted(status=503), 502, "provider_error", 2),
    (Scripted(raw=b'{"choices": "not a list"}'), 502, "provider_error", 1),
    (Scripted(raw=b"<html>upstream error</html>", status=200), 502, "provider_error", 1),
])
def test_a_failed_call_releases_the_reservation_keeps_the_message_failed_and_says_what_to_do(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders, script: Scripted,
        status: int, code: str, calls: int) -> None:
    api = api_for(base, dynamodb, sns, clock)
    session_id = api.chat("first").body["session_id"]
    settled = counter(dynamodb)["cost_micros"]
    fake.enqueue("openai", *[script] * calls)
    reply = api.chat("second", session_id)
    assert (reply.status, reply.body["code"]) == (status, code)
    assert "Your message was kept" in reply.body["detail"] and "again" in reply.body["detail"]
    assert len(fake.sent("openai")) == 1 + calls
    assert counter(dynamodb)["cost_micros"] == settled, "the reservation was released in full"
    history = api.invoke("get_history", session_id=session_id).body
    assert [(m["content"], m["status"]) for m in history["messages"] if m["role"] == "user"] == [
        ("first", "ok"), ("second", "failed")]
    # The failed message is stored and counted (a session's limit bounds what it stores); the reply's slot is free.
    assert history["metadata"]["message_count"] == 3 and micros(history["metadata"]["total_cost"]) == settled
    retried = api.chat("second", session_id)
    assert retried.status == 200, "after a failure the next turn goes through"


def test_without_a_key_chat_is_503_naming_the_variable_and_writes_nothing(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    api = api_for(base.model_copy(update={"OPENAI_API_KEY": None}), dynamodb, sns, clock)
    reply = api.chat("hello")
    assert reply.status == 503 and reply.body["code"] == "provider_not_configured"
    assert "OPENAI_API_KEY" in reply.body["detail"]
    assert api.invoke("list_sessions").body == [] and counter(dynamodb) == {}
    assert fake.requests == []


def test_a_refused_key_never_reaches_the_reply_or_the_logs(base: Settings, dynamodb: Any, sns: Any,
                                                            clock: FakeClock, fake: FakeProviders,
                                                            capsys: pytest.CaptureFixture[str],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    api = api_for(base, dynamodb, sns, clock)
    fake.enqueue("openai", Scripted(status=401))
    reply = api.chat("hello")
    assert reply.status == 503 and "OPENAI_API_KEY" in reply.body["detail"]
    out = capsys.readouterr()
    for text in (json.dumps(reply.body), out.out, out.err, caplog.text, repr(base)):
        assert OPENAI_KEY not in text and ANTHROPIC_KEY not in text


# --- selection --------------------------------------------------------------------------------------------------------


def test_a_session_type_can_name_its_own_provider_and_model(base: Settings, dynamodb: Any, sns: Any,
                                                            clock: FakeClock, fake: FakeProviders) -> None:
    settings = Settings.model_validate({**base.model_dump(), "LLM_MODELS_BY_SESSION_TYPE": {
        "analytics": {"provider": "anthropic", "model": "claude-sonnet-4-6"}}})
    api = api_for(settings, dynamodb, sns, clock)
    analytics = api.invoke("chat", {"message": "Trend of tickets?", "session_type": "analytics"})
    support = api.chat("My bill")
    assert analytics.body["metadata"]["provider"] == "anthropic" and support.body["metadata"]["provider"] == "openai"
    assert fake.sent("anthropic")[0]["model"] == "claude-sonnet-4-6"
    created = api.invoke("create_session", {"session_type": "analytics"}).body
    assert (created["provider"], created["model"]) == ("anthropic", "claude-sonnet-4-6")


def test_settings_read_session_type_models_and_the_fallback_from_the_environment() -> None:
    s = Settings.from_environ({
        "LLM_MODELS_BY_SESSION_TYPE": '{"analytics": {"provider": "anthropic"}}',
        "LLM_FALLBACK_PROVIDER": "anthropic", "LLM_FALLBACK_MODEL": "", "TEMPERATURE": "",
        "ANTHROPIC_API_KEY_SECRET": "ai-chat/anthropic",
    })
    assert s.LLM_MODELS_BY_SESSION_TYPE["analytics"].provider == "anthropic"
    assert s.LLM_FALLBACK_MODEL is None and s.TEMPERATURE is None
    assert s.provider == "anthropic", "a key held in a secret counts as configured"
    with pytest.raises(ConfigurationError, match="LLM_MODELS_BY_SESSION_TYPE"):
        Settings.from_environ({"LLM_MODELS_BY_SESSION_TYPE": '{"analytics": {"provider": "gemini"}}'})
    with pytest.raises(ConfigurationError, match="LLM_DEADLINE_SECONDS"):
        Settings.from_environ({"LLM_DEADLINE_SECONDS": "45"})


@pytest.mark.parametrize("update", [
    {"LLM_FALLBACK_PROVIDER": "anthropic", "LLM_FALLBACK_MODEL": "claude-unpriced-9"},
    {"LLM_MODELS_BY_SESSION_TYPE": {"analytics": {"provider": "openai", "model": "gpt-unpriced"}}},
])
def test_every_model_the_settings_can_call_needs_a_price_at_start(base: Settings, dynamodb: Any,
                                                                  update: dict[str, Any]) -> None:
    settings = Settings.model_validate({**base.model_dump(), **update})
    with pytest.raises(ConfigurationError, match="PRICES"):
        wiring.build(settings, dynamodb=dynamodb)


def test_an_unknown_session_type_in_the_model_map_is_a_configuration_error(base: Settings, dynamodb: Any) -> None:
    settings = Settings.model_validate({**base.model_dump(),
                                        "LLM_MODELS_BY_SESSION_TYPE": {"sales": {"provider": "openai"}}})
    with pytest.raises(ConfigurationError, match="sales"):
        wiring.build(settings, dynamodb=dynamodb)


# --- keys from Secrets Manager and SSM --------------------------------------------------------------------------------


def aws(service: str) -> Any:
    return aws_clients.client(service, region_name="us-east-1")


@pytest.mark.parametrize("stored", ["sk-from-secrets-manager", '{"api_key": "sk-from-secrets-manager"}'])
def test_a_key_in_secrets_manager_is_read_once_per_container(base: Settings, dynamodb: Any, sns: Any,
                                                             clock: FakeClock, fake: FakeProviders,
                                                             stored: str) -> None:
    secrets = aws("secretsmanager")
    secrets.create_secret(Name="ai-chat/openai", SecretString=stored)
    api = api_for(base.model_copy(update={"OPENAI_API_KEY": None, "OPENAI_API_KEY_SECRET": "ai-chat/openai"}),
                  dynamodb, sns, clock)
    assert api.chat("one").status == 200
    secrets.delete_secret(SecretId="ai-chat/openai", ForceDeleteWithoutRecovery=True)
    assert api.chat("two").status == 200, "the key was kept, not read again"
    assert {r.headers["authorization"] for r in fake.requests} == {"Bearer sk-from-secrets-manager"}


def test_a_key_in_an_ssm_secure_string_is_used(base: Settings, dynamodb: Any, sns: Any, clock: FakeClock,
                                               fake: FakeProviders) -> None:
    aws("ssm").put_parameter(Name="/ai-chat/anthropic", Value="sk-ant-from-ssm", Type="SecureString")
    settings = base.model_copy(update={"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": None,
                                       "ANTHROPIC_API_KEY_PARAMETER": "/ai-chat/anthropic"})
    assert api_for(settings, dynamodb, sns, clock).chat("hi").status == 200
    assert fake.requests[0].headers["authorization"] == "Bearer sk-ant-from-ssm"


def test_a_missing_secret_is_503_naming_the_setting_and_is_tried_again_next_time(
        base: Settings, dynamodb: Any, sns: Any, clock: FakeClock, fake: FakeProviders) -> None:
    api = api_for(base.model_copy(update={"OPENAI_API_KEY": None, "OPENAI_API_KEY_SECRET": "ai-chat/missing"}),
                  dynamodb, sns, clock)
    reply = api.chat("hi")
    assert reply.status == 503 and "OPENAI_API_KEY_SECRET" in reply.body["detail"]
    assert counter(dynamodb) == {}, "refused before anything was reserved"
    aws("secretsmanager").create_secret(Name="ai-chat/missing", SecretString="sk-late")
    assert api.chat("hi").status == 200
