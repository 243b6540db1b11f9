"""Providers as an extension point: one catalog entry (and its module, tests/echo_provider.py) adds a provider that
settings select, the price table prices, errors name and the local banner shows, with no other file edited."""

from __future__ import annotations

import sys
from decimal import Decimal
from types import SimpleNamespace

import pytest

from aichat.core import provider_catalog as catalog
from aichat.core.errors import ConfigurationError, ProviderNotConfigured
from aichat.core.pricing import PriceTable
from aichat.core.provider_catalog import Known, Price
from aichat.core.settings import Settings
from aichat.providers.interface import CompletionRequest, Turn
from aichat.providers.registry import Providers
from localdev import banner

ECHO = Known("Echo", "echo-1", "ECHO_API_KEY", "echo_provider:build", "ECHO_BASE_URL",
             {"echo-1": Price(Decimal("0.50"), Decimal("1.50"))})


@pytest.fixture(autouse=True)
def echo_in_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalog.PROVIDERS, "echo", ECHO)
    monkeypatch.delitem(sys.modules, "echo_provider", raising=False)


def request() -> CompletionRequest:
    return CompletionRequest("echo-1", "system", (Turn("user", "hello there"),), max_tokens=50, temperature=None)


def test_a_catalog_provider_is_selected_by_llm_provider_and_built_from_its_key_and_base_url_on_first_use() -> None:
    settings = Settings.from_environ({"LLM_PROVIDER": "echo", "ECHO_API_KEY": "k-1", "ECHO_BASE_URL": "http://echo"})
    providers = Providers(settings)

    assert providers.default() == ("echo", "echo-1") and "echo_provider" not in sys.modules
    provider = providers.get("echo")
    assert (provider.api_key, provider.base_url) == ("k-1", "http://echo")  # type: ignore[attr-defined]
    assert provider.complete(request()).text == "echo: hello there"
    assert [part for part in provider.stream(request())][-1].provider == "echo"  # type: ignore[union-attr]


def test_a_catalog_provider_with_its_key_set_is_the_default_when_llm_provider_is_unset() -> None:
    assert Settings.from_environ({"ECHO_API_KEY_SECRET": "echo/key"}).provider == "echo"
    assert Settings.from_environ({"ECHO_API_KEY": ""}).provider == "offline"  # blank is unset, as for every setting


def test_a_catalog_providers_key_is_kept_out_of_the_settings_repr() -> None:
    settings = Settings.from_environ({"LLM_PROVIDER": "echo", "ECHO_API_KEY": "secret-echo-key"})

    assert settings.setting("ECHO_API_KEY") == "secret-echo-key" and "secret-echo-key" not in repr(settings)


def test_a_catalog_providers_models_are_priced_from_its_entry() -> None:
    assert PriceTable().price("echo-1") == Price(Decimal("0.50"), Decimal("1.50"))


def test_a_catalog_provider_without_its_key_is_named_with_the_variables_to_set() -> None:
    providers = Providers(Settings.from_environ({"LLM_PROVIDER": "echo"}))

    with pytest.raises(ProviderNotConfigured, match=r"^Echo API key not configured\. An administrator must set "
                       r"ECHO_API_KEY \(or ECHO_API_KEY_SECRET / ECHO_API_KEY_PARAMETER\)\.$"):
        providers.get("echo")
    assert "echo_provider" not in sys.modules  # no key: its module (an SDK, for a real provider) is never imported


def test_the_banner_shows_a_catalog_provider_and_its_missing_key() -> None:
    settings = SimpleNamespace(provider="echo", LLM_MODEL=None)
    line = banner.model(settings, {})

    assert line == "echo, echo-1 - but ECHO_API_KEY is not set, so chats will answer 503 provider_not_configured"
    assert banner.model(settings, {"ECHO_API_KEY": "k"}).endswith("(its key is set)")
    assert "ECHO_API_KEY" in banner.model(SimpleNamespace(provider="offline"), {})


def test_a_provider_not_in_the_catalog_is_refused_at_start_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"LLM_FALLBACK_PROVIDER: unknown provider 'mistral'; use offline, "
                       r"openai, anthropic, bedrock, echo"):
        Settings.from_environ({"LLM_FALLBACK_PROVIDER": "mistral"})
