"""Pure rules of the layer: its folders and which imports which, settings, identity claims, prompts, pricing, ids.
No AWS, no events."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aichat.core.errors import ConfigurationError, TenantMissing, Unauthorized
from aichat.core.identity import identity_from_event, parse_roles
from aichat.core.ids import new_id
from aichat.core.pricing import PriceTable, Usage, micros_to_cents
from aichat.core.settings import Settings
from aichat.providers.interface import CompletionRequest, Turn
from aichat.providers.offline import OfflineProvider
from aichat.turn.prompts import DEFAULT_PROMPTS, Prompts

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "python" / "aichat"

# Each folder of the layer and the folders it may import from, besides its own: each only from those below it, so
# a reader can learn the layer from the bottom up, and nothing below ever changes for what is above.
MAY_IMPORT = {
    "core": set(),
    "notify": {"core"},
    "providers": {"core"},
    "table": {"core", "notify"},
    "tools": {"core", "notify", "table", "providers"},
    "services": {"core", "notify", "table", "providers"},
    "turn": {"core", "notify", "table", "providers", "tools", "services"},
    "wiring": {"core", "notify", "table", "providers", "tools", "services", "turn"},
    "api": {"core", "notify", "table", "providers", "tools", "services", "turn", "wiring"},
}
MAX_TOP_LEVEL_ENTRIES = 16
MAX_FILE_LINES = 400


def layer_modules() -> dict[str, Path]:
    """Every module of the layer by its dotted name."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, *, with_type_checking: bool) -> Iterator[str]:
    """The aichat modules a file imports, at top level or inside functions (a lazy import is a dependency too)."""
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child) and not with_type_checking:
                continue
            yield child
            yield from walk(child)

    modules = layer_modules()
    for node in walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("aichat"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aichat"):
            for alias in node.names:
                # `from aichat.table import keys` imports the module aichat.table.keys.
                full = f"{node.module}.{alias.name}"
                yield full if full in modules else node.module


def folder_of(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_each_folder_imports_only_from_the_folders_below_it() -> None:
    upward = [f"{name} imports {imported}" for name, path in layer_modules().items() if folder_of(name)
              for imported in imports_of(path, with_type_checking=True)
              if folder_of(imported) not in {folder_of(name), *MAY_IMPORT[folder_of(name)]}]
    assert upward == []


def test_every_folder_of_the_layer_has_its_import_rule() -> None:
    folders = {p.stem for p in PACKAGE.iterdir() if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"}
    assert folders - {"__init__"} == set(MAY_IMPORT)


def test_the_layer_has_no_import_circle() -> None:
    graph = {name: {i for i in imports_of(path, with_type_checking=False) if i != name}
             for name, path in layer_modules().items()}
    circles = []

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    for module in graph:
        # A package's __init__ is imported with each of its modules, never the other way round.
        if module in reach(module):
            circles.append(module)
    assert circles == []


def test_the_layer_top_level_is_short_and_no_file_is_long() -> None:
    top = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(top) <= MAX_TOP_LEVEL_ENTRIES, top
    long = {str(path.relative_to(PACKAGE)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_a_package_init_holds_a_docstring_and_nothing_else() -> None:
    # So importing one module of a folder loads only that module (the stream authorizer's cold start counts).
    def statements(path: Path) -> list[str]:
        return [type(node).__name__ for node in ast.parse(path.read_text()).body
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]

    inits = {str(path.relative_to(PACKAGE)): statements(path) for path in PACKAGE.rglob("__init__.py")}
    assert {name: body for name, body in inits.items() if body} == {}


def test_only_the_table_folder_talks_to_dynamodb() -> None:
    # wiring builds the client and hands it in; everything else reads and writes through table/.
    calls = ("get_item(", ".query(", "put_item(", "update_item(", "delete_item(", "transact_write_items(",
             "batch_write_item(", "transact_get_items(", ".scan(")
    outside = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if path.relative_to(PACKAGE).parts[0] != "table" and any(c in path.read_text() for c in calls))
    assert outside == []


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
