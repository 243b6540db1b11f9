"""Pure rules of the layer: settings, identity claims, prompts, pricing, ids. No AWS, no events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aichat.core.errors import ConfigurationError, TenantMissing, Unauthorized
from aichat.core.identity import authorizer_claims, identity_from_event, parse_roles
from aichat.core.ids import new_id
from aichat.core.pricing import PriceTable, Usage, micros_to_cents
from aichat.core.settings import Settings
from aichat.providers.interface import CompletionRequest, Turn
from aichat.providers.offline import OfflineProvider
from aichat.turn.prompts import DEFAULT_PROMPTS, Prompts

ROOT = Path(__file__).resolve().parents[2]
def test_settings_have_the_guides_defaults() -> None:
    s = Settings.from_environ({})
    assert (s.DAILY_COST_LIMIT_CENTS, s.SESSION_COST_LIMIT_CENTS) == (10000, 100)
    assert (s.MAX_MESSAGES_PER_SESSION, s.MAX_SESSIONS_PER_USER_PER_DAY) == (100, 50)
    assert (s.MAX_CONTEXT_MESSAGES, s.MAX_TOKENS, s.TEMPERATURE) == (10, 500, 0.7)
    assert (s.TENANT_CLAIM, s.ROLES_CLAIM, s.RETENTION_DAYS) == ("tenant_id", "roles", 90)
    assert s.USER_DAILY_COST_LIMIT_CENTS is None and s.provider == "offline"


def test_a_bad_setting_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MAX_TOKENS"):
        Settings.from_environ({"MAX_TOKENS": "lots"})
    with pytest.raises(ConfigurationError, match="SYSTEM_PROMPTS"):
        Settings.from_environ({"SYSTEM_PROMPTS": "{not json"})


def test_an_empty_cloudformation_parameter_means_unset() -> None:
    s = Settings.from_environ({"USER_DAILY_COST_LIMIT_CENTS": "", "LLM_PROVIDER": "", "LLM_MODEL": ""})
    assert s.USER_DAILY_COST_LIMIT_CENTS is None and s.LLM_PROVIDER is None


def test_a_key_picks_its_provider_unless_one_is_named() -> None:
    assert Settings.from_environ({"ANTHROPIC_API_KEY": "k"}).provider == "anthropic"
    assert Settings.from_environ({"ANTHROPIC_API_KEY": "k", "LLM_PROVIDER": "offline"}).provider == "offline"


def test_keys_never_show_in_the_settings_repr() -> None:
    assert "sk-secret" not in repr(Settings.from_environ({"OPENAI_API_KEY": "sk-secret"}))


@pytest.mark.parametrize(("raw", "roles"), [
    ("[admin support]", {"admin", "support"}), (["admin"], {"admin"}), ("admin", {"admin"}), ("[]", set()),
    (None, set()), ('["admin","ops"]', {'"admin","ops"'}),
])
def test_roles_are_read_from_api_gateways_string_form_and_from_real_lists(raw: object, roles: set[str]) -> None:
    assert parse_roles(raw) == roles


def test_identity_uses_the_configured_claim_names() -> None:
    settings = Settings(TENANT_CLAIM="custom:tenant_id", ROLES_CLAIM="cognito:groups")
    claims = {"sub": "u1", "custom:tenant_id": "acme", "cognito:groups": "[admin]"}
    who = identity_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}, settings)
    assert (who.user_id, who.tenant_id, who.is_admin) == ("u1", "acme", True)


@pytest.mark.parametrize(("raw", "shown"), [
    ("  Sam Support  ", "Sam Support"),
    ("Sam\u0000\u001b[31m Support", "Sam[31m Support"),
    ("x" * 150 + "  ", "x" * 100),
    (" \u0007 ", None),
    (42, None),
])
def test_a_display_name_is_the_claim_trimmed_bounded_and_without_control_characters(raw: object,
                                                                                  shown: str | None) -> None:
    settings = Settings(DISPLAY_NAME_CLAIM="name")
    claims = {"sub": "u1", "tenant_id": "acme", "name": raw}
    who = identity_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}, settings)
    assert who.display_name == shown


@pytest.mark.parametrize(("authorizer", "user"), [
    ({"jwt": {"claims": {"sub": "from-http-api", "tenant_id": "acme"}}}, "from-http-api"),
    ({"claims": {"sub": "from-cognito", "tenant_id": "acme"}}, "from-cognito"),
    ({"principalId": "p", "sub": "from-lambda-authorizer", "tenant_id": "acme"}, "from-lambda-authorizer"),
])
def test_the_caller_is_read_from_whichever_authorizer_verified_the_token(authorizer: dict[str, object],
                                                                          user: str) -> None:
    event = {"requestContext": {"authorizer": authorizer}}
    assert identity_from_event(event, Settings()).user_id == user


def test_an_authorizer_context_without_a_principal_holds_no_claims() -> None:
    # Only a Lambda authorizer's context (it always has principalId) is claims; anything else there is not.
    assert authorizer_claims({"requestContext": {"authorizer": {"sub": "forged", "tenant_id": "acme"}}}) == {}
    with pytest.raises(Unauthorized):
        identity_from_event({"requestContext": {"authorizer": {"sub": "forged", "tenant_id": "acme"}}}, Settings())


def test_identity_without_a_tenant_is_400_and_without_a_subject_401() -> None:
    settings = Settings()
    with pytest.raises(TenantMissing):
        identity_from_event({"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u"}}}}}, settings)
    with pytest.raises(Unauthorized):
        identity_from_event({"requestContext": {}}, settings)


def test_an_id_with_a_key_separator_is_refused() -> None:
    claims = {"sub": "u#SESSION", "tenant_id": "acme"}
    with pytest.raises(Unauthorized):
        identity_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}, Settings())


def test_every_session_type_has_a_prompt_and_settings_override_one() -> None:
    assert set(DEFAULT_PROMPTS) == {"customer_support", "admin_assistant", "network_diagnostics", "analytics"}
    prompts = Prompts({"analytics": "Only talk about charts."})
    assert prompts.system_prompt("analytics", None) == "Only talk about charts."
    assert prompts.system_prompt("customer_support", None) == DEFAULT_PROMPTS["customer_support"]
    with pytest.raises(ConfigurationError, match="sales"):
        Prompts({"sales": "x"})


def test_price_overrides_replace_and_extend_the_table() -> None:
    prices = PriceTable({"my-vllm-model": {"input": Decimal("0.5"), "output": Decimal("1")}})
    assert prices.cost_micros("my-vllm-model", Usage(input_tokens=1_000_000, output_tokens=0)) == 500_000
    assert micros_to_cents(500_000) == 50.0


def test_the_worst_case_is_never_below_the_real_cost() -> None:
    prices = PriceTable()
    request = CompletionRequest(model="offline-1", system="Be brief. " * 30, max_tokens=50, temperature=0,
                                messages=(Turn("user", "¿Qué tal? naïve café " * 20),))
    completion = OfflineProvider().complete(request)
    assert completion.usage.input_tokens <= request.input_token_bound()
    assert prices.cost_micros("offline-1", completion.usage) <= prices.worst_case_micros(
        "offline-1", request.input_token_bound(), request.max_tokens)


def test_the_offline_model_is_deterministic_and_respects_max_tokens() -> None:
    request = CompletionRequest(model="offline-1", system="s", max_tokens=5, temperature=0.7,
                                messages=(Turn("user", "hello there"),))
    first, second = OfflineProvider().complete(request), OfflineProvider().complete(request)
    assert first == second
    assert first.usage.output_tokens <= 5 and first.stop_reason == "max_tokens"


def test_ids_sort_by_time_even_within_one_millisecond() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_id(moment) for _ in range(200)]
    assert ids == sorted(ids) and len(set(ids)) == 200 and all(len(i) == 26 for i in ids)
    assert new_id(datetime(2026, 1, 2, tzinfo=UTC)) > ids[-1]


def test_every_provider_is_declared_once_with_settings_that_exist_for_its_key() -> None:
    from aichat.core.provider_catalog import PROVIDERS, by_preference

    assert set(by_preference()) < set(PROVIDERS) and "offline" not in by_preference()
    for name, known in PROVIDERS.items():
        for variable in known.settings():
            assert Settings.from_environ({variable: "x"}).setting(variable) == "x", (name, variable)
        assert PriceTable().price(known.default_model), f"{name}'s default model has no price"
    assert Settings.from_environ({"ANTHROPIC_API_KEY_PARAMETER": "/stack/anthropic"}).provider == "anthropic"
