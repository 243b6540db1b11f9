"""Bedrock is chosen on purpose, never as "the first configured provider" (AWS credentials are always present in
Lambda), and under make dev it is called with the caller's own credentials: DynamoDB Local's are its client's alone."""

from __future__ import annotations

from bedrock_provider import CLAUDE, NOVA, bedrock_provider, bedrock_request
from fake_bedrock import FakeBedrock

from aichat import wiring
from aichat.core.provider_catalog import by_preference
from aichat.core.settings import Settings
from aichat.providers.registry import Providers


def test_aws_credentials_and_a_bedrock_endpoint_never_make_bedrock_the_default() -> None:
    settings = Settings.from_environ({"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s",
                                      "BEDROCK_ENDPOINT_URL": "http://127.0.0.1:9", "BEDROCK_REGION": "eu-west-1"})
    assert settings.provider == "offline" and "bedrock" not in by_preference()
    with_key = Settings.from_environ({"BEDROCK_ENDPOINT_URL": "http://127.0.0.1:9", "ANTHROPIC_API_KEY": "k"})
    assert with_key.provider == "anthropic"


def test_bedrock_is_chosen_by_llm_provider_a_session_type_or_as_the_fallback_and_its_module_is_preloaded() -> None:
    chosen = Settings.from_environ({"LLM_PROVIDER": "bedrock"})
    assert Providers(chosen).default() == ("bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0")
    by_type = Settings.from_environ({"LLM_MODELS_BY_SESSION_TYPE": '{"analytics": {"provider": "bedrock", '
                                                                   f'"model": "{NOVA}"}}}}'})
    assert Providers(by_type).default("analytics") == ("bedrock", NOVA)
    fallback = Settings.from_environ({"LLM_PROVIDER": "offline", "LLM_FALLBACK_PROVIDER": "bedrock",
                                      "LLM_FALLBACK_MODEL": CLAUDE})
    assert Providers(fallback).fallback() is not None
    # For SnapStart's snapshot, as the SDK of a provider with a key is (and never when Bedrock is not configured).
    assert Providers(fallback).preload() == ["aichat.providers.bedrock"]
    assert Providers(Settings()).preload() == []


def test_the_tables_client_uses_its_own_credentials_and_bedrocks_client_the_processs(
        fake_bedrock: FakeBedrock) -> None:
    settings = Settings(DYNAMODB_ENDPOINT_URL="http://127.0.0.1:9", DYNAMODB_ACCESS_KEY_ID="local",
                        DYNAMODB_SECRET_ACCESS_KEY="local")
    table = wiring.dynamodb_client(settings)
    assert table._request_signer._credentials.access_key == "local"
    assert "local" not in repr(settings), "credentials are kept out of the settings' repr"
    bedrock_provider(fake_bedrock).complete(bedrock_request())
    signed = fake_bedrock.requests[0].headers["authorization"]
    assert "Credential=local/" not in signed and signed.startswith("AWS4-HMAC-SHA256 Credential=")
    plain = wiring.dynamodb_client(Settings(DYNAMODB_ENDPOINT_URL="http://127.0.0.1:9"))
    assert plain._request_signer._credentials.access_key != "local"
