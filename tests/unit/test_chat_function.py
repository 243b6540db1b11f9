"""The chat function as deployed: fresh state after a SnapStart restore, its permissions, and which provider SDKs
each function imports (SnapStart itself: test_transformed_template.py; its time budget: test_template.py)."""

from __future__ import annotations

import random
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock
from fresh_import import MODEL_FUNCTIONS, NON_MODEL_FUNCTIONS, loaded_after_import

from aichat import wiring
from aichat.core.settings import Settings
from aichat.providers.interface import Provider
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chat_function() -> dict[str, Any]:
    properties: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]["ChatFunction"]["Properties"]
    return properties


def test_the_chat_function_may_write_and_delete_in_its_one_table_and_read_keys_by_name(
        chat_function: dict[str, Any]) -> None:
    statements = [s for policy in chat_function["Policies"] for s in policy.get("Statement", [])]
    actions = {a for s in statements for a in _actions(s)}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    assert {"secretsmanager:GetSecretValue", "ssm:GetParameter"} <= actions
    tables = [s["Resource"] for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert tables == [{"Fn::GetAtt": ["Table", "Arn"]}], "its Idempotency-Key claims are in the ledger's table"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return list(action) if isinstance(action, list) else [action]


@pytest.mark.parametrize("function", MODEL_FUNCTIONS)
def test_neither_model_function_loads_powertools_idempotency(function: str) -> None:
    # The key is claimed in the turn's reserve transaction: no second mechanism to import at every cold start.
    watched = ("aws_lambda_powertools.utilities.idempotency", "aichat.idempotency")
    assert loaded_after_import(function, watched) == []


def test_after_a_restore_provider_clients_are_built_afresh_and_randomness_reseeded(
        dynamodb: Any, clock: FakeClock) -> None:
    services = wiring.build(Settings(TABLE_NAME="ai-chat", OPENAI_API_KEY="sk-x"), dynamodb=dynamodb, clock=clock)
    registry = services._providers  # the registry is what a restore must reset
    before: Provider = registry.get("openai")
    assert registry.get("openai") is before, "kept for the container's life"
    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)
    services.after_restore()
    assert random.random() != snapshot_draw, "copies restored from one snapshot draw different jitter"
    assert registry.get("openai") is not before, "a new client, so no connection from the snapshot is reused"


def test_the_restore_hook_is_registered_only_where_the_runtime_provides_it(
        dynamodb: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    services = wiring.build(Settings(TABLE_NAME="ai-chat"), dynamodb=dynamodb, clock=clock)
    assert wiring.refresh_after_restore(services) is False
    registered: list[Any] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert wiring.refresh_after_restore(services) is True
    assert registered == [services.after_restore]


SDKS = ("openai", "anthropic")
BOTH_KEYS = {"OPENAI_API_KEY": "sk-x", "ANTHROPIC_API_KEY": "sk-y"}


@pytest.mark.parametrize("function", NON_MODEL_FUNCTIONS)
def test_no_function_but_chat_imports_a_provider_sdk_or_the_tools_even_with_both_configured(function: str) -> None:
    watched = ("openai", "anthropic", "aichat.tools", "aichat.table.tickets", "aichat.turn.chat_service",
               "aichat.turn.loop", "aichat.turn.dependencies")
    assert loaded_after_import(function, watched, LLM_PROVIDER="openai", LLM_FALLBACK_PROVIDER="anthropic",
                               **BOTH_KEYS) == []


@pytest.mark.parametrize("function", MODEL_FUNCTIONS)
def test_each_model_function_imports_the_sdk_of_each_provider_it_can_call_and_no_other(function: str) -> None:
    both_keys = BOTH_KEYS
    assert loaded_after_import(function, SDKS, LLM_PROVIDER="openai", **both_keys) == ["openai"]
    assert loaded_after_import(function, SDKS, LLM_PROVIDER="anthropic", **both_keys) == ["anthropic"]
    assert loaded_after_import(function, SDKS, LLM_PROVIDER="openai", LLM_FALLBACK_PROVIDER="anthropic",
                               **both_keys) == ["openai", "anthropic"]


@pytest.mark.parametrize("function", MODEL_FUNCTIONS)
def test_each_model_function_loads_at_init_what_its_first_turn_would_so_snapstart_snapshots_it(function: str) -> None:
    # The SDK's HTTP transport (imported by its first request otherwise) and Powertools' Logger (built on the first
    # line a container writes otherwise): 51 and about 30 modules a restored container's first turn no longer loads.
    watched = ("httpcore2", "h11", "truststore", "aws_lambda_powertools.logging.logger")
    assert loaded_after_import(function, watched, LLM_PROVIDER="openai", OPENAI_API_KEY="sk-x") == list(watched)
    assert loaded_after_import(function, watched, LLM_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-y") == list(watched)


STREAMING = ("aichat.api.stream_app", "aichat.api.ui_stream", "uvicorn", "starlette", "mangum")


@pytest.mark.parametrize("function", [*NON_MODEL_FUNCTIONS, "chat"])
def test_no_function_but_the_streaming_one_loads_the_stream_app(function: str) -> None:
    assert loaded_after_import(function, STREAMING) == []


def test_the_streaming_function_loads_its_asgi_app_and_no_server_of_its_own() -> None:
    # In AWS the Lambda Web Adapter's run command starts the server; the app itself imports none.
    assert loaded_after_import("chat_stream", STREAMING) == ["aichat.api.stream_app", "aichat.api.ui_stream"]
