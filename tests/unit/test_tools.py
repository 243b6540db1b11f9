"""Function calling: the tools' strict schemas, running a call (whatever the model or the handler does, an error the
model can act on, never an exception), tickets owned by the verified caller, and TOOLS_BY_SESSION_TYPE."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from conftest import FakeClock
from pydantic import BaseModel, Field, ValidationError

from aichat.core.errors import ConfigurationError, EscalationNotDelivered
from aichat.core.identity import Identity
from aichat.core.records import SessionRecord
from aichat.core.settings import DEFAULT_TOOLS_BY_SESSION_TYPE, Settings, ToolName
from aichat.notify.domain_events import DomainEvents
from aichat.providers.interface import ToolCall
from aichat.table import keys
from aichat.table.tickets import TicketStore
from aichat.tools import arguments as arguments_module
from aichat.tools.registry import BUILT_IN_TOOLS, ToolOutcome, ToolRegistry
from aichat.tools.results import MAX_RESULT_BYTES
from aichat.tools.schema import spec, strict_schema
from aichat.tools.tool import Tool, ToolArguments, ToolContext

TABLE = "ai-chat"
CALLER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())
SESSION = SessionRecord(id="01SESSION", tenant_id="acme", user_id="user-1", session_type="customer_support",
                        status="active", provider="offline", model="offline-1", created_at="2026-11-24T12:00:00.000Z",
                        updated_at="2026-11-24T12:00:00.000Z")
INTERNALS = ("Traceback", "RuntimeError", "aichat", "botocore", "ai-chat", "secret")


class NoArguments(ToolArguments):
    pass


def _tool(name: str, handler: Any, timeout_seconds: float = 2) -> Tool[Any]:
    return Tool(name=name, description=f"{name}, for tests.", Arguments=NoArguments, handler=handler,
                timeout_seconds=timeout_seconds)


def _raises(arguments: Any, context: ToolContext) -> dict[str, Any]:
    raise RuntimeError("secret: table ai-chat in aichat.table.sessions refused")


def _huge(arguments: Any, context: ToolContext) -> dict[str, Any]:
    return {"rows": "x" * (MAX_RESULT_BYTES + 1)}


RAISING, HUGE = _tool("broken", _raises), _tool("huge", _huge)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a hanging handler end once its test is done."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def hanging(release: threading.Event) -> Tool[Any]:
    def handler(arguments: Any, context: ToolContext) -> dict[str, Any]:
        release.wait(10)
        return {"late": True}

    return _tool("hangs", handler, timeout_seconds=0.3)


@pytest.fixture
def tickets(dynamodb: Any, clock: FakeClock) -> TicketStore:
    return TicketStore(dynamodb, TABLE, retention_days=90, clock=clock, events=DomainEvents("default", None))


@pytest.fixture
def escalations() -> list[str]:
    return []


@pytest.fixture
def context(tickets: TicketStore, escalations: list[str]) -> ToolContext:
    return ToolContext(caller=CALLER, session=SESSION, turn_id="01TURN", now="2026-11-24T12:00:00.000Z",
                       tickets=tickets, escalate=escalations.append)


@pytest.fixture
def registry(hanging: Tool[Any]) -> ToolRegistry:
    return ToolRegistry(Settings(), tools=(*BUILT_IN_TOOLS, RAISING, HUGE, hanging))


def call(name: str, arguments: Any) -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(id="call-1", name=name, arguments=text)


def run(registry: ToolRegistry, context: ToolContext, name: str, arguments: Any,
        offered: tuple[Tool[Any], ...] | None = None, time_left: float = 20) -> ToolOutcome:
    offered = registry.for_session_type("customer_support") if offered is None else offered
    return registry.run(call(name, arguments), offered, context, time_left)


def assert_error(outcome: ToolOutcome, *phrases: str) -> str:
    """The outcome is an error for the model and the record alike; its message, which holds `phrases`."""
    message = outcome.record["result"]["error"]
    assert outcome.record["status"] == "error" and outcome.result.is_error and not outcome.ends_turn
    assert json.loads(outcome.result.content) == {"error": message} and outcome.result.call_id == "call-1"
    for phrase in phrases:
        assert phrase in message, message
    return str(message)


def ticket_items(dynamodb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=TABLE)["Items"]
    return [i for i in items if i["PK"]["S"].startswith("TICKET#")]


def schema_nodes(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every schema in a schema: itself, its properties', items' and variants'."""
    yield schema
    for child in [*schema.get("properties", {}).values(), *schema.get("anyOf", ()),
                  *([schema["items"]] if "items" in schema else [])]:
        yield from schema_nodes(child)


# --- schemas -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", BUILT_IN_TOOLS, ids=lambda t: t.name)
def test_every_tool_offers_a_strict_schema_with_every_property_required_and_no_others(tool: Tool[Any]) -> None:
    parameters = dict(spec(tool).parameters)
    assert parameters["type"] == "object" and len(list(schema_nodes(parameters))) > 1
    for node in schema_nodes(parameters):
        assert not {"default", "title", "$ref", "$defs", "allOf", "minLength", "maxLength"} & set(node), node
        if node.get("type") == "object":
            assert node["required"] == list(node["properties"]) and node["additionalProperties"] is False


def test_create_tickets_description_is_nullable_and_its_bounds_are_said_in_words() -> None:
    properties = spec(BUILT_IN_TOOLS[0]).parameters["properties"]
    assert properties["description"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert properties["title"]["type"] == "string" and "1 to 200 characters" in properties["title"]["description"]
    assert properties["priority"]["enum"] == ["low", "normal", "high", "urgent"]
    reason = spec(BUILT_IN_TOOLS[1]).parameters["properties"]["reason"]
    assert reason["type"] == "string" and "1 to 500 characters" in reason["description"]


def test_the_schemas_accept_good_arguments_and_refuse_extra_ones() -> None:
    create, escalate = (jsonschema.Draft202012Validator(spec(tool).parameters) for tool in BUILT_IN_TOOLS)
    create.validate({"title": "No internet", "priority": "high", "description": None})
    create.validate({"title": "No internet", "priority": "low", "description": "Since Monday"})
    escalate.validate({"reason": "Billing dispute"})
    for bad in ({"title": "t", "priority": "high", "description": None, "tenant_id": "globex"},
                {"title": "t", "priority": "high"}, {"title": "t", "priority": "whenever", "description": None}):
        with pytest.raises(jsonschema.ValidationError):
            create.validate(bad)
    with pytest.raises(jsonschema.ValidationError):
        escalate.validate({"reason": "r", "session_id": "01OTHER"})


class Address(BaseModel):
    city: str = Field(description="City")


class Nested(ToolArguments):
    home: Address
    tries: int = Field(default=3, ge=1, le=5)


def test_nested_models_are_inlined_and_a_defaulted_field_is_nullable_null_meaning_its_default() -> None:
    schema = strict_schema(Nested)
    assert schema["properties"]["home"] == {"type": "object", "properties": {"city": {"type": "string",
                                            "description": "City"}}, "required": ["city"],
                                            "additionalProperties": False}
    assert schema["properties"]["tries"] == {"anyOf": [{"type": "integer"}, {"type": "null"}],
                                             "description": "at least 1; at most 5"}
    jsonschema.Draft202012Validator(schema).validate({"home": {"city": "Oslo"}, "tries": None})
    assert arguments_module.validate(Nested, {"home": {"city": "Oslo"}, "tries": None}) == Nested(
        home=Address(city="Oslo"), tries=3)


def test_a_model_with_free_keys_cannot_be_offered_in_strict_form() -> None:
    class Free(ToolArguments):
        labels: dict[str, str]

    with pytest.raises(ValueError, match="free keys"):
        strict_schema(Free)


# --- create_ticket ---------------------------------------------------------------------------------------------------


def test_create_ticket_stores_an_open_ticket_owned_by_the_callers_tenant_user_session_and_turn(
        registry: ToolRegistry, context: ToolContext, dynamodb: Any, clock: FakeClock) -> None:
    outcome = run(registry, context, "create_ticket", {"title": "  Router offline  ", "priority": "high",
                                                       "description": "Since Monday"})
    result = outcome.record["result"]
    assert outcome.record == {"id": "call-1", "name": "create_ticket", "status": "ok", "result": result,
                              "arguments": {"title": "  Router offline  ", "priority": "high",
                                            "description": "Since Monday"}}
    assert result == {"id": result["id"], "title": "Router offline", "priority": "high", "status": "open",
                      "created_at": "2026-11-24T12:00:00.000Z"}
    assert not outcome.result.is_error and json.loads(outcome.result.content) == result and not outcome.ends_turn
    [item] = ticket_items(dynamodb)
    # Its own partition: in the session's it would sort after SESSION and break the session's Query.
    assert (item["PK"]["S"], item["SK"]["S"]) == (keys.ticket_pk(result["id"]), "TICKET")
    assert {k: v.get("S") for k, v in item.items() if k in ("tenant_id", "user_id", "session_id", "turn_id")} == {
        "tenant_id": "acme", "user_id": "user-1", "session_id": "01SESSION", "turn_id": "01TURN"}
    assert item["description"]["S"] == "Since Monday" and item["status"]["S"] == "open"
    assert int(item["expires_at"]["N"]) == int(clock.now.timestamp()) + 90 * 86_400
    assert context.tickets.get(result["id"], CALLER) is not None


def test_a_null_description_is_stored_as_none(registry: ToolRegistry, context: ToolContext, dynamodb: Any) -> None:
    outcome = run(registry, context, "create_ticket", {"title": "Slow", "priority": "low", "description": None})
    assert outcome.record["status"] == "ok"
    [item] = ticket_items(dynamodb)
    assert "description" not in item
    ticket = context.tickets.get(outcome.record["result"]["id"], CALLER)
    assert ticket is not None and ticket.description is None


@pytest.mark.parametrize("extra", [{"tenant_id": "globex"}, {"user_id": "user-2"}, {"session_id": "01OTHER"}])
def test_arguments_naming_a_tenant_user_or_session_are_refused_and_nothing_is_stored(
        registry: ToolRegistry, context: ToolContext, dynamodb: Any, extra: dict[str, str]) -> None:
    [field] = extra
    outcome = run(registry, context, "create_ticket", {"title": "t", "priority": "low", **extra})
    assert_error(outcome, field, "not an argument")
    assert outcome.record["arguments"] == {"title": "t", "priority": "low", **extra}
    assert ticket_items(dynamodb) == []


# --- every way a call can go wrong: an error record and an error result, nothing raised ----------------------------


def test_arguments_that_are_not_json_are_an_error_keeping_the_raw_text(registry: ToolRegistry,
                                                                      context: ToolContext) -> None:
    outcome = run(registry, context, "create_ticket", '{"title": "t", "priority":')
    assert_error(outcome, "not valid JSON")
    assert outcome.record["arguments"] == '{"title": "t", "priority":'


@pytest.mark.parametrize("text", ["[1, 2]", '"title"', "null", "NaN", "[" * 5000])
def test_arguments_that_are_not_a_json_object_are_an_error(registry: ToolRegistry, context: ToolContext,
                                                           text: str) -> None:
    outcome = run(registry, context, "create_ticket", text)
    assert_error(outcome, "JSON")
    assert outcome.record["arguments"] == text


def test_a_validation_failure_names_each_field_without_echoing_its_value(registry: ToolRegistry,
                                                                        context: ToolContext, dynamodb: Any) -> None:
    outcome = run(registry, context, "create_ticket", {"title": "LEAKME" * 40, "priority": "whenever"})
    message = assert_error(outcome, "invalid arguments", "title", "200 characters", "priority")
    assert "LEAKME" not in message and "whenever" not in message
    assert_error(run(registry, context, "create_ticket", {"priority": "low"}), "title: required")
    assert ticket_items(dynamodb) == []


def test_a_lone_surrogate_in_an_argument_becomes_a_replacement_character_and_the_call_runs(
        registry: ToolRegistry, context: ToolContext, dynamodb: Any) -> None:
    outcome = run(registry, context, "create_ticket", '{"title": "a\\ud800 \\ud83d\\ude00", "priority": "low"}')
    assert outcome.record["status"] == "ok"
    assert outcome.record["arguments"]["title"] == outcome.record["result"]["title"] == "a\ufffd \U0001f600"
    (ticket,) = ticket_items(dynamodb)
    assert ticket["title"]["S"] == "a\ufffd \U0001f600"


def test_a_lone_surrogate_in_an_argument_model_is_still_refused_by_field() -> None:
    # The arguments a model sends are made whole before they are checked; a tool called otherwise is still guarded.
    with pytest.raises(arguments_module.CallRefused, match=r"title: .*lone surrogate"):
        arguments_module.validate(BUILT_IN_TOOLS[0].Arguments, {"title": "a\ud800", "priority": "low"})


@pytest.mark.parametrize(("text", "field"), [
    ('{"title": "t", "priority": "low", "count": 1e400}', "count"),
    ('{"title": "t", "priority": "low", "nested": {"n": [1, -1e999]}}', "nested.n.1"),
    ('{"title": "t", "priority": "low", "n": NaN}', "n"),
    ('{"title": "t", "priority": "low", "n": -Infinity}', "n"),
])
def test_a_number_that_is_not_finite_is_refused_naming_it_and_is_recorded_as_written(
        registry: ToolRegistry, context: ToolContext, dynamodb: Any, text: str, field: str) -> None:
    outcome = run(registry, context, "create_ticket", text)
    assert_error(outcome, f"{field}: not a finite number")
    assert ticket_items(dynamodb) == [], "nothing ran"
    recorded = json.dumps(outcome.record, allow_nan=False)  # no inf or NaN anywhere in the record
    assert json.loads(recorded)["arguments"]["title"] == "t"


def test_an_unknown_tool_is_an_error_naming_the_available_ones(registry: ToolRegistry, context: ToolContext) -> None:
    outcome = run(registry, context, "delete_everything" + "x" * 500, {"table": "all"})
    message = assert_error(outcome, "no tool named", "create_ticket, escalate_to_human")
    assert len(message) < 200 and len(outcome.record["name"]) <= 65
    assert outcome.record["arguments"] == {"table": "all"}
    # Not offered comes first: better arguments would not help.
    assert_error(run(registry, context, "delete_everything", "{not json"), "no tool named")


def test_a_tool_not_offered_for_the_session_type_is_refused(registry: ToolRegistry, context: ToolContext,
                                                            dynamodb: Any) -> None:
    analytics = registry.for_session_type("analytics")
    assert analytics == ()
    outcome = run(registry, context, "create_ticket", {"title": "t", "priority": "low"}, offered=analytics)
    assert_error(outcome, "create_ticket is not available in this conversation")
    admin = registry.for_session_type("admin_assistant")
    assert_error(run(registry, context, "escalate_to_human", {"reason": "r"}, offered=admin), "not available")
    assert ticket_items(dynamodb) == []


def test_a_handler_that_raises_gives_a_generic_error_without_its_text(registry: ToolRegistry,
                                                                      context: ToolContext) -> None:
    message = assert_error(run(registry, context, "broken", {}, offered=(RAISING,)), "broken failed",
                           "nothing was done")
    assert not any(word in message for word in INTERNALS), message


def test_a_handler_past_its_timeout_is_an_error_and_the_turn_goes_on(registry: ToolRegistry, context: ToolContext,
                                                                     hanging: Tool[Any]) -> None:
    started = time.monotonic()
    assert_error(run(registry, context, "hangs", {}, offered=(hanging,)), "took too long", "0.3 s")
    assert time.monotonic() - started < 8, "the handler (hanging 10 s) is not waited for"


def test_the_time_left_in_the_turn_bounds_the_wait_when_it_is_smaller(registry: ToolRegistry,
                                                                       context: ToolContext,
                                                                       hanging: Tool[Any]) -> None:
    slow = Tool(name="hangs", description="d", Arguments=NoArguments, handler=hanging.handler, timeout_seconds=30)
    started = time.monotonic()
    assert_error(run(registry, context, "hangs", {}, offered=(slow,), time_left=0.2), "took too long", "0.2 s")
    assert time.monotonic() - started < 8, "the handler (hanging 10 s) is not waited for"
    assert_error(run(registry, context, "hangs", {}, offered=(slow,), time_left=0), "no time is left")


def test_a_result_over_16_kb_is_an_error(registry: ToolRegistry, context: ToolContext) -> None:
    outcome = run(registry, context, "huge", {}, offered=(HUGE,))
    assert_error(outcome, "too large")
    assert len(outcome.result.content) < 1000


def test_arguments_over_8_kb_are_refused_without_parsing(registry: ToolRegistry, context: ToolContext,
                                                         monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> None:
    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(arguments_module, "json", SimpleNamespace(loads=no_parsing,
                                                                  JSONDecodeError=json.JSONDecodeError))
    text = json.dumps({"title": "t", "priority": "low", "description": "é" * 4200})  # 8,400 UTF-8 bytes
    outcome = run(registry, context, "create_ticket", text)
    assert_error(outcome, "larger than 8192 bytes")
    assert isinstance(outcome.record["arguments"], str) and ticket_items(dynamodb) == []


# --- escalate_to_human -----------------------------------------------------------------------------------------------


def test_escalate_to_human_calls_the_sessions_escalation_with_the_reason_and_ends_the_turn(
        registry: ToolRegistry, context: ToolContext, escalations: list[str]) -> None:
    outcome = run(registry, context, "escalate_to_human", {"reason": "  Billing dispute  "})
    assert escalations == ["Billing dispute"]
    assert outcome.ends_turn and outcome.record["status"] == "ok" and outcome.record["result"] == {
        "status": "escalated"}
    assert json.loads(outcome.result.content) == {"status": "escalated"} and not outcome.result.is_error


def test_an_escalation_that_fails_is_an_error_that_does_not_end_the_turn(registry: ToolRegistry,
                                                                         context: ToolContext) -> None:
    def refuse(reason: str) -> None:
        raise EscalationNotDelivered("Support staff could not be notified (secret topic arn).")

    failing = ToolContext(caller=CALLER, session=SESSION, turn_id="01TURN", now=context.now, tickets=context.tickets,
                          escalate=refuse)
    message = assert_error(run(registry, failing, "escalate_to_human", {"reason": "r"}), "escalation_not_delivered")
    assert "secret" not in message


# --- tickets -----------------------------------------------------------------------------------------------------


def test_a_ticket_is_hidden_from_another_tenant_and_another_user(tickets: TicketStore) -> None:
    ticket = tickets.create(CALLER, session_id="01SESSION", turn_id="01TURN", title="t", priority="urgent",
                            description=None)
    assert tickets.get(ticket.id, CALLER) == ticket
    assert tickets.get(ticket.id, Identity(user_id="user-1", tenant_id="globex", roles=frozenset())) is None
    assert tickets.get(ticket.id, Identity(user_id="user-2", tenant_id="acme", roles=frozenset())) is None
    assert tickets.get("01NOSUCHTICKET", CALLER) is None


# --- settings ------------------------------------------------------------------------------------------------------


def test_tools_by_session_type_defaults_to_support_tools_for_support_and_none_for_analytics() -> None:
    settings = Settings.from_environ({})
    assert settings.TOOLS_BY_SESSION_TYPE == {
        "customer_support": ("create_ticket", "escalate_to_human"),
        "network_diagnostics": ("create_ticket", "escalate_to_human"),
        "admin_assistant": ("create_ticket",), "analytics": (),
    }
    registry = ToolRegistry(settings)
    assert [t.name for t in registry.for_session_type("customer_support")] == ["create_ticket", "escalate_to_human"]
    assert registry.specs(registry.for_session_type("admin_assistant")) == (spec(BUILT_IN_TOOLS[0]),)
    assert settings.MAX_TOOL_STEPS == 4 == registry.max_steps


def test_an_override_replaces_the_types_it_names_and_the_others_keep_their_defaults() -> None:
    settings = Settings.from_environ({"TOOLS_BY_SESSION_TYPE": '{"analytics": ["create_ticket"], '
                                                               '"customer_support": []}'})
    assert settings.TOOLS_BY_SESSION_TYPE == {**DEFAULT_TOOLS_BY_SESSION_TYPE, "analytics": ("create_ticket",),
                                              "customer_support": ()}
    registry = ToolRegistry(settings)
    assert [t.name for t in registry.for_session_type("analytics")] == ["create_ticket"]
    assert registry.for_session_type("customer_support") == ()


@pytest.mark.parametrize(("value", "named"), [
    ('{"customer_support": ["create_ticket", "delete_everything"]}', "delete_everything"),
    ('{"sales": ["create_ticket"]}', "sales"),
    ('{"analytics": "create_ticket"}', "analytics"),
    ('{"analytics": ["create_ticket", "create_ticket"]}', "more than once"),
    ('["create_ticket"]', "TOOLS_BY_SESSION_TYPE"),
])
def test_a_bad_tools_by_session_type_is_a_configuration_error_naming_the_setting_and_the_bad_name(
        value: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match="TOOLS_BY_SESSION_TYPE") as error:
        Settings.from_environ({"TOOLS_BY_SESSION_TYPE": value})
    assert named in str(error.value)
    with pytest.raises(ValidationError, match="TOOLS_BY_SESSION_TYPE"):
        Settings(TOOLS_BY_SESSION_TYPE={"admin_assistant": ["drop_table"]})  # type: ignore[dict-item]


@pytest.mark.parametrize("steps", ["0", "9", "many"])
def test_max_tool_steps_is_bounded_from_1_to_8(steps: str) -> None:
    with pytest.raises(ConfigurationError, match="MAX_TOOL_STEPS"):
        Settings.from_environ({"MAX_TOOL_STEPS": steps})
    assert Settings.from_environ({"MAX_TOOL_STEPS": "8"}).MAX_TOOL_STEPS == 8


def test_the_built_in_tools_are_the_ones_settings_can_name() -> None:
    from typing import get_args

    assert [t.name for t in BUILT_IN_TOOLS] == list(get_args(ToolName))
    assert all(isinstance(t.description, str) and "\n" not in t.description for t in BUILT_IN_TOOLS)


def test_a_registry_refuses_a_configured_tool_it_does_not_have() -> None:
    with pytest.raises(ConfigurationError, match="TOOLS_BY_SESSION_TYPE"):
        ToolRegistry(Settings(), tools=BUILT_IN_TOOLS[:1])
