"""The template's own wiring: what cfn-lint and `sam validate --lint` cannot see.

Each function's code is where the template says, runs python3.12 on arm64 behind the JWT authorizer on its one
route; every reference names something declared (also inside SAM policy templates, where cfn-lint does not look);
every environment variable is a setting the layer reads; and events/*.json are real-shaped requests for each route.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aichat.api import routes
from aichat.core import models
from aichat.core.settings import Settings
from aichat.table import keys
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]

# Every API route, from the layer's one route table: function -> (method, path).
ROUTES: dict[str, tuple[str, str]] = {r.function: (r.method, r.path) for r in routes.ROUTES}
SCHEDULED = {"CostRollupFunction", "SweepTurnsFunction", "EraseUsersFunction"}
# The stream front (a REST API: an HTTP API cannot stream): the streaming function and its token authorizer.
STREAM_FRONT = {r.function for r in routes.STREAM_ROUTES} | {"StreamAuthorizerFunction"}
# The functions that call a model, and so run tools: POST /chat and POST /chat/stream.
MODEL_FUNCTIONS = {"ChatFunction", "ChatStreamFunction"}
# An admin's tenant configuration: it names tools (so knows CUSTOM_TOOLS) and shows each type's default tools.
CONFIG_FUNCTIONS = {"AdminGetConfigFunction", "AdminPatchConfigFunction"}
# The API's documentation: public routes, no table access.
DOCS_FUNCTION = "DocsFunction"
DOCS_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/docs/assets/{asset}")}

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId",
    "AWS::StackName", "AWS::URLSuffix",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each AWS::Serverless::Function's properties, with Globals.Function applied as SAM applies it: a shallow merge,
    except that a function's Layers are added after the global ones."""
    defaults = template.get("Globals", {}).get("Function", {})
    merged = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = {**defaults, **resource.get("Properties", {})}
        if "Layers" in defaults and "Layers" in resource.get("Properties", {}):
            properties["Layers"] = [*defaults["Layers"], *resource["Properties"]["Layers"]]
        merged[name] = properties
    return merged


def api_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The functions behind an API route (the docs function serves public pages; the rest run on a schedule)."""
    return {name: p for name, p in functions(template).items() if http_api_events(p) and name != DOCS_FUNCTION}


def http_api_events(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [event for event in properties.get("Events", {}).values() if event["Type"] == "HttpApi"]


def code_dir(properties: dict[str, Any]) -> Path:
    return ROOT / str(properties["CodeUri"])


def defines_name(source: str, name: str) -> bool:
    """Whether a module binds `name` at top level: a def, an assignment or an import."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the template, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def sub_variables(argument: Any) -> set[str]:
    """The names a Fn::Sub reaches outside itself: ${Name} and ${Name.Attribute}, not ${!Literal} or its own map."""
    text, local = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    names = {match.split(".", 1)[0] if "::" not in match else match
             for match in re.findall(r"\$\{([^!}][^}]*)\}", text)}
    return names - set(local)


def environment_variables(template: dict[str, Any]) -> dict[str, Any]:
    """Every environment variable set anywhere: in Globals and on each function."""
    found: dict[str, Any] = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {})
                                 .get("Variables", {}))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            found.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    return found


def load_event(properties: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{code_dir(properties).name}.json").read_text())
    return event


# --- functions ---------------------------------------------------------------------------------------------------


def test_the_template_declares_exactly_the_api_functions_and_the_scheduled_rollup(template: dict[str, Any]) -> None:
    assert set(api_functions(template)) == set(ROUTES)
    assert set(functions(template)) - set(ROUTES) == SCHEDULED | {DOCS_FUNCTION} | STREAM_FRONT


def test_the_rollup_runs_hourly_and_once_more_for_yesterday_after_midnight(template: dict[str, Any]) -> None:
    events = functions(template)["CostRollupFunction"]["Events"]
    schedules = {e["Properties"]["Schedule"]: e["Properties"].get("Input") for e in events.values()
                 if e["Type"] == "Schedule"}
    assert schedules["rate(1 hour)"] is None
    finals = [json.loads(i) for s, i in schedules.items() if s.startswith("cron(") and i]
    assert finals == [{"pass": "final"}]


def test_the_sweeper_runs_every_few_minutes_and_never_scans(template: dict[str, Any]) -> None:
    properties = functions(template)["SweepTurnsFunction"]
    (event,) = properties["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == "rate(5 minutes)"
    granted = {(a, str(statement["Resource"])) for statement in properties["Policies"][0]["Statement"]
               for a in statement["Action"]}
    assert {a for a, _ in granted} == {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                                       "dynamodb:DeleteItem"}, "no Scan: it releases turns and finishes deletes"
    # It finds its work in DayIndex only; on the table it queries one session's partition at a time.
    assert ("dynamodb:Query", str({"Fn::Sub": "${Table.Arn}/index/DayIndex"})) in granted


def test_a_turns_deadline_ends_before_api_gateway_gives_up_and_before_the_function_is_killed(
        template: dict[str, Any]) -> None:
    # The most LLM_DEADLINE_SECONDS may be set to, so no setting can push a turn past either limit.
    deadline_max = Settings.model_fields["LLM_DEADLINE_SECONDS"].metadata
    most = next(m.le for m in deadline_max if getattr(m, "le", None) is not None)
    api_gateway_limit = 30  # an HTTP API answers 503 after 30 s, whatever the function does
    chat = functions(template)["ChatFunction"]
    assert Settings().LLM_DEADLINE_SECONDS <= most < api_gateway_limit
    with pytest.raises(ValidationError):
        Settings(LLM_DEADLINE_SECONDS=most + 1)
    # After the deadline the turn still releases (or settles) its reservation: the function outlives the deadline.
    assert chat["Timeout"] >= most + 10, "the chat function must run past the deadline to release the turn"


def test_the_model_functions_memory_is_one_parameter_sized_from_the_memory_benchmark_and_the_rest_keep_256(
        template: dict[str, Any]) -> None:
    # scripts/bench_memory.py: peaks of 76 MB (chat) and 82 MB (the stream's uvicorn and app), 59 MB for the others.
    parameter = template["Parameters"]["ChatMemorySize"]
    assert (parameter["Default"], parameter["MinValue"]) == (512, 256)
    functions = {name: r["Properties"] for name, r in template["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    for name in MODEL_FUNCTIONS:
        assert functions[name]["MemorySize"] == {"Ref": "ChatMemorySize"}, name
    assert template["Globals"]["Function"]["MemorySize"] == 256
    others = {name for name, props in functions.items() if "MemorySize" not in props}
    assert others == set(functions) - MODEL_FUNCTIONS - {"CostRollupFunction"}


def test_every_function_code_folder_has_the_module_that_defines_its_handler(template: dict[str, Any]) -> None:
    for name, properties in functions(template).items():
        if properties.get("Environment", {}).get("Variables", {}).get("AWS_LAMBDA_EXEC_WRAPPER"):
            continue  # its handler is a start-up script under the Lambda Web Adapter (tests/unit/test_stream_front.py)
        module, _, handler = properties["Handler"].rpartition(".")
        source = code_dir(properties) / f"{module.replace('.', '/')}.py"
        assert source.is_file(), f"{name}: {source.relative_to(ROOT)} is missing"
        assert defines_name(source.read_text(encoding="utf-8"), handler), f"{name}: {source} defines no {handler}"


def test_every_function_runs_python312_on_arm64_with_the_common_layer(template: dict[str, Any]) -> None:
    for name, properties in functions(template).items():
        assert properties["Runtime"] == "python3.12", name
        assert properties["Architectures"] == ["arm64"], name
        assert {"Ref": "CommonLayer"} in properties["Layers"], name


def test_only_the_two_functions_that_call_a_model_carry_the_provider_sdks_layer(template: dict[str, Any]) -> None:
    carrying = {name for name, properties in functions(template).items()
                if {"Ref": "ProvidersLayer"} in properties["Layers"]}
    assert carrying == MODEL_FUNCTIONS
    layer = template["Resources"]["ProvidersLayer"]
    content = ROOT / str(layer["Properties"]["ContentUri"])
    # Only the SDKs' requirements and the Makefile that builds them: the aichat package is the CommonLayer's, once.
    assert sorted(p.name for p in content.iterdir()) == ["Makefile", "requirements.txt"]
    assert (layer["Properties"]["CompatibleRuntimes"], layer["Properties"]["CompatibleArchitectures"]) == (
        ["python3.12"], ["arm64"])
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


def test_the_layer_builds_the_aichat_package_for_the_functions_runtime_and_architecture(
    template: dict[str, Any],
) -> None:
    layer = template["Resources"]["CommonLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    # ContentUri's Makefile (scripts/build-python.sh) puts aichat/ and requirements.txt's arm64 wheels into the layer's
    # python/ (/opt/python, on sys.path), compiled: tests/unit/test_layer_build.py builds it.
    content = ROOT / str(layer["Properties"]["ContentUri"])
    assert (content / "aichat" / "__init__.py").is_file(), f"no aichat package directly in {content}"
    assert (content / "requirements.txt").is_file(), f"sam build installs the layer's dependencies from {content}"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


def test_each_resource_sam_builds_with_make_has_its_target_in_the_makefile_beside_its_code(
    template: dict[str, Any],
) -> None:
    built_with_make = {name: resource for name, resource in template["Resources"].items()
                       if resource.get("Metadata", {}).get("BuildMethod") == "makefile"}
    assert {"CommonLayer", "ProvidersLayer", "StreamAuthorizerFunction", "DocsFunction"} <= set(built_with_make)
    for name, resource in built_with_make.items():
        code = resource["Properties"].get("ContentUri") or resource["Properties"]["CodeUri"]
        makefile = (ROOT / str(code) / "Makefile").read_text(encoding="utf-8")
        assert re.search(rf"^build-{name}:", makefile, re.MULTILINE), f"{code}Makefile has no build-{name} target"


def test_the_chat_function_waits_longer_than_any_other_function(template: dict[str, Any]) -> None:
    timeouts = {name: properties["Timeout"] for name, properties in api_functions(template).items()}
    chat = timeouts.pop("ChatFunction")
    assert all(chat > other for other in timeouts.values()), (chat, timeouts)


def test_no_function_is_granted_a_wildcard_action(template: dict[str, Any]) -> None:
    for name, properties in functions(template).items():
        for policy in properties.get("Policies", []):
            for statement in policy.get("Statement", []):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not [a for a in actions if "*" in a], f"{name}: {actions}"


# --- API -----------------------------------------------------------------------------------------------------------


def route_problems(template: dict[str, Any], table: tuple[routes.ApiRoute, ...], root: Path) -> list[str]:
    """What keeps the route table, the template, the functions' code and their events from agreeing."""
    problems = []
    declared = functions(template)
    for route in table:
        where = f"{route.method} {route.path}"
        properties = declared.get(route.function)
        if properties is None:
            problems.append(f"{where}: {route.function} is not a function in template.yaml")
        else:
            if properties.get("CodeUri") != f"functions/{route.code}/":
                problems.append(f"{where}: {route.function}'s CodeUri is not functions/{route.code}/")
            events = [(e["Properties"]["Method"], e["Properties"]["Path"]) for e in http_api_events(properties)]
            if events != [(route.method, route.path)]:
                problems.append(f"{where}: {route.function}'s HttpApi events are {events}")
        app = root / "functions" / route.code / "app.py"
        if not app.is_file() or not defines_name(app.read_text(), "lambda_handler"):
            problems.append(f"{where}: functions/{route.code}/app.py does not define lambda_handler")
        event = root / "events" / f"{route.code}.json"
        if not event.is_file() or json.loads(event.read_text()).get("routeKey") != where:
            problems.append(f"{where}: events/{route.code}.json is not a request for this route")
        for model in (route.request, route.response):
            if model is not None and getattr(models, model.__name__, None) is not model:
                problems.append(f"{where}: {model.__name__} is not one of the API's models (aichat/core/models.py)")
    tabled = {r.function for r in table}
    for name, properties in declared.items():
        if http_api_events(properties) and name != DOCS_FUNCTION and name not in tabled:
            problems.append(f"{name} answers an API route that aichat/api/routes.py does not declare")
    return problems


def test_the_route_table_the_template_the_functions_and_their_events_agree(template: dict[str, Any]) -> None:
    assert route_problems(template, routes.ROUTES, ROOT) == []


def test_a_route_added_to_the_table_fails_until_its_function_event_and_models_exist(
        template: dict[str, Any], tmp_path: Path) -> None:
    import copy
    import shutil

    from pydantic import BaseModel

    class PingReply(BaseModel):  # a model the API does not declare yet
        ok: bool

    for folder in ("functions", "events"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    ping = routes.ApiRoute("GET", "/api/v1/ai/ping", "PingFunction", "ping", "ping", "Is it up?", PingReply)
    table, draft = (*routes.ROUTES, ping), copy.deepcopy(template)

    assert route_problems(draft, table, tmp_path) == [
        "GET /api/v1/ai/ping: PingFunction is not a function in template.yaml",
        "GET /api/v1/ai/ping: functions/ping/app.py does not define lambda_handler",
        "GET /api/v1/ai/ping: events/ping.json is not a request for this route",
        "GET /api/v1/ai/ping: PingReply is not one of the API's models (aichat/core/models.py)"]

    draft["Resources"]["PingFunction"] = {"Type": "AWS::Serverless::Function", "Properties": {
        "CodeUri": "functions/ping/", "Events": {"Api": {"Type": "HttpApi", "Properties": {
            "ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/api/v1/ai/ping"}}}}}
    (tmp_path / "functions" / "ping").mkdir()
    (tmp_path / "functions" / "ping" / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (tmp_path / "events" / "ping.json").write_text(json.dumps({"routeKey": "GET /api/v1/ai/ping"}))
    assert route_problems(draft, table, tmp_path) == [
        "GET /api/v1/ai/ping: PingReply is not one of the API's models (aichat/core/models.py)"]

    ready = dataclasses.replace(ping, response=models.SessionOut)
    assert route_problems(draft, (*routes.ROUTES, ready), tmp_path) == []
    unlisted = route_problems(draft, routes.ROUTES, tmp_path)
    assert unlisted == ["PingFunction answers an API route that aichat/api/routes.py does not declare"]


def test_each_function_has_exactly_one_http_api_event_on_its_own_route(template: dict[str, Any]) -> None:
    routes: dict[str, tuple[str, str]] = {}
    for name, properties in api_functions(template).items():
        events = http_api_events(properties)
        assert len(events) == 1, f"{name} has {len(events)} HttpApi events"
        assert len(properties.get("Events", {})) == 1, f"{name} has events besides its route"
        event = events[0]["Properties"]
        assert event["ApiId"] == {"Ref": "HttpApi"}, name
        assert event["PayloadFormatVersion"] == "2.0", name
        routes[name] = (event["Method"], event["Path"])
    assert routes == ROUTES


def test_every_route_requires_a_token_checked_by_the_jwt_authorizer(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert set(authorizer["JwtConfiguration"]) == {"issuer", "audience"}
    for name, properties in api_functions(template).items():
        for event in http_api_events(properties):
            # An event may only name the default authorizer; "NONE" or another would open the route.
            chosen = event["Properties"].get("Auth", {}).get("Authorizer", auth["DefaultAuthorizer"])
            assert chosen == auth["DefaultAuthorizer"], f"{name} uses authorizer {chosen}"


def test_only_the_docs_function_is_public_and_only_on_its_documentation_routes(template: dict[str, Any]) -> None:
    docs = functions(template)[DOCS_FUNCTION]
    events = http_api_events(docs)
    assert {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events} == DOCS_ROUTES
    assert all(e["Properties"]["Auth"] == {"Authorizer": "NONE"} for e in events)
    assert all(e["Properties"]["ApiId"] == {"Ref": "HttpApi"} for e in events)
    assert not docs.get("Policies"), "the docs function reads no table"
    # sam build runs functions/docs/Makefile, which ships the Swagger UI and ReDoc files beside the handler.
    assert template["Resources"][DOCS_FUNCTION]["Metadata"]["BuildMethod"] == "makefile"
    assert (code_dir(docs) / "Makefile").is_file()


def test_cors_lets_the_widget_send_a_token_and_an_idempotency_key(template: dict[str, Any]) -> None:
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "AllowedOrigin"}]
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= set(cors["AllowHeaders"])
    assert {method for method, _ in ROUTES.values()} <= set(cors["AllowMethods"])
    assert "X-Next-Cursor" in cors["ExposeHeaders"]
    # The admin config's optimistic writes: a browser reads the ETag and sends it back as If-Match with a PATCH.
    assert "If-Match" in cors["AllowHeaders"] and "ETag" in cors["ExposeHeaders"] and "PATCH" in cors["AllowMethods"]


# --- data ----------------------------------------------------------------------------------------------------------


def test_the_table_has_pk_sk_the_owner_and_day_indexes_ttl_and_point_in_time_recovery(
        template: dict[str, Any]) -> None:
    table = template["Resources"]["Table"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"},
                                  {"AttributeName": "SK", "KeyType": "RANGE"}]
    owner, day = table["GlobalSecondaryIndexes"]
    assert owner["IndexName"] == "OwnerIndex"
    assert owner["KeySchema"] == [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                  {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]
    assert day["IndexName"] == "DayIndex"
    assert day["KeySchema"] == [{"AttributeName": "GSI2PK", "KeyType": "HASH"},
                                {"AttributeName": "GSI2SK", "KeyType": "RANGE"}]
    assert owner["Projection"] == day["Projection"] == {"ProjectionType": "ALL"}
    assert {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]} == {
        "PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S", "GSI2PK": "S", "GSI2SK": "S",
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_indexes_are_the_ones_the_store_queries(template: dict[str, Any]) -> None:
    indexes = template["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == [keys.OWNER_INDEX, keys.DAY_INDEX]


# --- references and settings ---------------------------------------------------------------------------------------


def test_every_ref_getatt_sub_and_condition_names_something_declared(template: dict[str, Any]) -> None:
    resources = set(template["Resources"])
    parameters = set(template.get("Parameters", {}))
    conditions = set(template.get("Conditions", {}))
    problems: list[str] = []
    for mapping in walk(template):
        if isinstance(mapping.get("Ref"), str) and mapping["Ref"] not in resources | parameters | PSEUDO_PARAMETERS:
            problems.append(f"!Ref {mapping['Ref']}")
        if "Fn::GetAtt" in mapping and mapping["Fn::GetAtt"][0] not in resources:
            problems.append(f"!GetAtt {'.'.join(mapping['Fn::GetAtt'])}")
        if "Fn::Sub" in mapping:
            problems += [f"!Sub ${{{name}}}" for name in sub_variables(mapping["Fn::Sub"])
                         if name not in resources | parameters | PSEUDO_PARAMETERS]
        if "Fn::If" in mapping and mapping["Fn::If"][0] not in conditions:
            problems.append(f"!If {mapping['Fn::If'][0]}")
        if isinstance(mapping.get("Condition"), str) and mapping["Condition"] not in conditions:
            problems.append(f"Condition {mapping['Condition']}")
    assert not problems, f"references to nothing declared: {problems}"


def test_every_environment_variable_is_a_setting_or_a_library_variable(template: dict[str, Any]) -> None:
    variables = environment_variables(template)
    assert variables, "the template sets no environment variables"
    # The Lambda Web Adapter's own variables (the streaming function's) are read by the adapter, not the layer;
    # PYDANTIC_DISABLE_PLUGINS by pydantic.
    unknown = [name for name in variables if name not in Settings.model_fields
               and not name.startswith(("POWERTOOLS_", "AWS_LWA_"))
               and name not in {"AWS_LAMBDA_EXEC_WRAPPER", "PYDANTIC_DISABLE_PLUGINS"}]
    assert not unknown, f"not read by aichat.core.settings.Settings: {unknown}"


# --- events --------------------------------------------------------------------------------------------------------


def test_there_is_one_event_file_per_function(template: dict[str, Any]) -> None:
    expected = {f"{code_dir(properties).name}.json" for properties in functions(template).values()}
    expected.add("cost_rollup_final.json")
    assert {path.name for path in (ROOT / "events").glob("*.json")} == expected


def test_each_event_is_an_http_api_payload_2_request_for_its_functions_route(template: dict[str, Any]) -> None:
    for name, properties in api_functions(template).items():
        method, path = ROUTES[name]
        event = load_event(properties)
        assert event["version"] == "2.0", name
        assert event["routeKey"] == event["requestContext"]["routeKey"] == f"{method} {path}", name
        assert event["requestContext"]["http"]["method"] == method, name
        concrete = path.format(**event.get("pathParameters", {}))
        assert event["rawPath"] == event["requestContext"]["http"]["path"] == concrete, name
        assert event["isBase64Encoded"] is False, name
        assert event["headers"]["authorization"].startswith("Bearer "), name
        assert all(header == header.lower() for header in event["headers"]), name
        if method in ("POST", "PATCH"):
            assert isinstance(json.loads(event["body"]), dict), name
        else:
            assert "body" not in event, name


def test_every_event_claim_is_a_string_as_api_gateway_hands_them_over(template: dict[str, Any]) -> None:
    for name, properties in api_functions(template).items():
        claims = load_event(properties)["requestContext"]["authorizer"]["jwt"]["claims"]
        not_text = {claim: value for claim, value in claims.items() if not isinstance(value, str)}
        assert not not_text, f"{name}: {not_text}"


def test_the_events_carry_the_tenant_and_roles_claims_of_either_identity_setup(template: dict[str, Any]) -> None:
    # `sam local invoke -e events/x.json` must work whether the stack made the Cognito pool or trusts another issuer.
    variables = environment_variables(template)
    claim_names = {name for variable in ("TENANT_CLAIM", "ROLES_CLAIM") for name in variables[variable]["Fn::If"][1:]}
    for name, properties in api_functions(template).items():
        claims = load_event(properties)["requestContext"]["authorizer"]["jwt"]["claims"]
        assert claim_names <= set(claims), f"{name}: missing {claim_names - set(claims)}"


def test_each_alarm_watches_a_metric_the_layer_publishes_with_the_dimensions_it_publishes(
        template: dict[str, Any]) -> None:
    from aichat.core import metrics

    source = (ROOT / "layers" / "common" / "python" / "aichat" / "core" / "metrics.py").read_text()
    # The alarms on the layer's own metrics; those on AWS's (AWS/SQS: the dead-letter queues) are checked below.
    alarms = {name: r["Properties"] for name, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and not r["Properties"]["Namespace"].startswith("AWS/")}
    assert {"OverReservationAlarm", "DeadTurnsAlarm", "EventsLostAlarm"} <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["Namespace"] == metrics.NAMESPACE, name
        assert f'"{alarm["MetricName"]}"' in source, f"{name}: nothing publishes {alarm['MetricName']}"
        # Published with no dimension but Powertools' service: an alarm names exactly that set.
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "ai-chat"}], name


def test_the_ledger_is_the_only_table_so_each_idempotency_key_is_claimed_in_its_turns_own_transaction(
        template: dict[str, Any]) -> None:
    tables = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables == ["Table"], "no second table of Idempotency-Key records: the reserve's TURNKEY# item is the one"
    for name, properties in functions(template).items():
        assert "IDEMPOTENCY_TABLE_NAME" not in properties.get("Environment", {}).get("Variables", {}), name


# create_ticket and escalate_to_human; POST …/escalate; a person taking, replying, releasing; an erasure done.
EVENT_PUBLISHERS = MODEL_FUNCTIONS | {"EscalateFunction", "WithdrawEscalationFunction", "AgentTakeFunction",
                                      "AgentReplyFunction", "AgentReleaseFunction", "EraseUsersFunction",
                                      "AdminPatchConfigFunction"}


def test_only_the_functions_that_publish_may_put_events_and_only_on_the_event_bus_parameters_bus(
        template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["EventBusName"]
    assert parameter["Default"] == "default"
    allowed = re.compile(parameter["AllowedPattern"])
    assert allowed.fullmatch("default") and allowed.fullmatch("platform-events")
    assert not allowed.fullmatch("") and not allowed.fullmatch("arn:aws:events:us-east-1:1:event-bus/x")
    bus = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"}
    for name, properties in functions(template).items():
        policies = [p for p in properties.get("Policies", []) if isinstance(p, dict)]
        assert not [p for p in policies if "EventBridgePutEventsPolicy" in p], f"{name}: a SAM policy template"
        granted = [(s["Action"], s["Resource"]) for p in policies for s in p.get("Statement", [])
                   if any(str(a).startswith("events:") for a in s["Action"])]
        variables = properties.get("Environment", {}).get("Variables", {})
        if name in EVENT_PUBLISHERS:
            assert granted == [(["events:PutEvents"], bus)], name
            assert variables["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}, name
        else:
            assert granted == [] and "EVENT_BUS_NAME" not in variables, name


def test_the_local_server_creates_every_table_of_the_template() -> None:
    from localdev.table import TABLES

    tables = {name for name, r in load_template(ROOT / "template.yaml")["Resources"].items()
              if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(TABLES) == tables and set(TABLES.values()) <= set(Settings.model_fields)


# --- security posture (scripts/checkov-template.sh runs checkov itself; these say why each setting is there) ------

# The $context variables API Gateway documents for HTTP API access logs that the format may use (claims apart).
HTTP_API_LOG_VARIABLES = {
    "accountId", "apiId", "authorizer.error", "awsEndpointRequestId", "dataProcessed", "domainName", "domainPrefix",
    "error.message", "error.messageString", "error.responseType", "extendedRequestId", "httpMethod",
    "identity.sourceIp", "integration.error", "integration.integrationStatus", "integration.latency",
    "integration.requestId", "integration.status", "integrationErrorMessage", "path", "protocol", "requestId",
    "requestTime", "requestTimeEpoch", "responseLatency", "responseLength", "routeKey", "stage", "status",
}
# CloudWatch Logs' accepted retention periods, in days.
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653}
# Event sources that invoke a function asynchronously: a failure there reaches nobody unless a dead-letter queue
# keeps it. (HttpApi and Api invoke synchronously and hand the error to the caller.)
SYNCHRONOUS_EVENTS = {"HttpApi", "Api"}


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    """The checks a resource skips inline (Metadata: checkov: skip), each with its reason."""
    entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    return {entry.get("id", ""): str(entry.get("comment", "")).strip() for entry in entries}


def access_log_format(template: dict[str, Any]) -> str:
    format_: str = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    return format_


def test_the_api_logs_each_request_as_a_json_line_in_a_log_group_kept_for_a_parameters_days(
        template: dict[str, Any]) -> None:
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = template["Resources"]["ApiAccessLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}
    parameter = template["Parameters"]["AccessLogRetentionDays"]
    assert set(parameter["AllowedValues"]) <= LOG_RETENTION_DAYS and parameter["Default"] in parameter["AllowedValues"]

    format_ = access_log_format(template)
    assert "\n" not in format_, "API Gateway takes a single-line format"
    variables = re.findall(r"\$context\.([A-Za-z0-9_.:]+)", format_)
    claims = [v for v in variables if v.startswith("authorizer.claims.")]
    assert claims == ["authorizer.claims.sub"], "no claim that names a person beyond the subject (no e-mail)"
    assert set(variables) - set(claims) <= HTTP_API_LOG_VARIABLES, set(variables) - HTTP_API_LOG_VARIABLES
    # Every value is a quoted string, so a missing one ("-") still leaves a JSON line Logs Insights parses.
    line = json.loads(re.sub(r"\$context\.[A-Za-z0-9_.:]+", "-", format_))
    fields = json.loads(re.sub(r"\$context\.([A-Za-z0-9_.:]+)", r"\1", format_))
    assert all(value == "-" for value in line.values()), line
    assert fields["requestId"] == "requestId", "API Gateway's id, the apigw-requestid header a client can quote"
    # The Lambda invocation's request id: what the function's own log lines carry, so the two can be joined.
    assert fields["lambdaRequestId"] == "integration.requestId"
    assert {fields[k] for k in ("time", "routeKey", "status", "sub", "sourceIp")} == {
        "requestTime", "routeKey", "status", "authorizer.claims.sub", "identity.sourceIp"}


def test_the_escalation_topic_is_encrypted_with_the_aws_managed_sns_key_unless_a_parameter_names_another(
        template: dict[str, Any]) -> None:
    topic = template["Resources"]["EscalationTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "EscalationTopicKmsKey"}
    assert template["Parameters"]["EscalationTopicKmsKey"]["Default"] == "alias/aws/sns"


def test_every_asynchronously_invoked_function_has_a_dead_letter_queue_with_an_alarm_on_its_depth(
        template: dict[str, Any]) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    asynchronous = {name for name, p in functions(template).items()
                    if any(e["Type"] not in SYNCHRONOUS_EVENTS for e in p.get("Events", {}).values())}
    assert asynchronous >= SCHEDULED
    used: set[str] = set()
    for name in sorted(asynchronous):
        # DeadLetterQueue is what checkov reads (CKV_AWS_116); an EventInvokeConfig destination alone fails it.
        dlq = functions(template)[name].get("DeadLetterQueue")
        assert dlq and dlq["Type"] == "SQS", f"{name}: no DeadLetterQueue"
        queue = dlq["TargetArn"]["Fn::GetAtt"][0]
        assert dlq["TargetArn"] == {"Fn::GetAtt": [queue, "Arn"]} and queue in queues, f"{name}: {dlq}"
        assert queue not in used, f"{name} shares {queue}: one queue per function says which one failed"
        used.add(queue)
        properties = queues[queue]["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, queue
        assert properties["MessageRetentionPeriod"] == 14 * 86_400, f"{queue}: kept as long as SQS allows"
        watching = [a["Properties"] for a in alarms.values()
                    if a["Properties"]["Namespace"] == "AWS/SQS"
                    and a["Properties"]["Dimensions"] == [{"Name": "QueueName",
                                                          "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]]
        assert len(watching) == 1, f"{queue}: {len(watching)} alarms watch it"
        alarm = watching[0]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == 1, \
            "one failed event is enough"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_every_alarm_notifies_the_stacks_alarm_topic_which_cloudwatch_can_publish_to(
        template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    # The AWS-managed SNS key's policy does not let CloudWatch publish: an alarm topic under it would stay silent.
    assert "alias/aws/sns" not in json.dumps(topic["Properties"].get("KmsMasterKeyId", ""))
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert "AlarmTopicArn" not in template["Parameters"]


def test_every_topic_an_alarm_does_not_publish_to_is_encrypted(template: dict[str, Any]) -> None:
    alarm_targets = {action["Ref"] for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
                     for action in alarm["Properties"]["AlarmActions"]}
    for name, topic in resources_of_type(template, "AWS::SNS::Topic").items():
        if name not in alarm_targets:
            assert "KmsMasterKeyId" in topic["Properties"], f"{name} is not encrypted at rest"


def test_every_route_is_throttled_by_parameters_and_chat_concurrency_can_be_capped(template: dict[str, Any]) -> None:
    routes = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert routes == {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                      "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}
    parameters = template["Parameters"]
    rate, burst = parameters["ApiThrottlingRateLimit"], parameters["ApiThrottlingBurstLimit"]
    assert rate["Type"] == burst["Type"] == "Number"
    # Below API Gateway's account-wide defaults (10,000 a second, a 5,000 burst), and a burst of a second's worth.
    assert 0 < rate["Default"] <= burst["Default"] < 5000
    assert rate["MinValue"] >= 1 and burst["MinValue"] >= 1, "0 would refuse every request"

    chat = template["Resources"]["ChatFunction"]
    assert chat["Properties"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasChatReservedConcurrency", {"Ref": "ChatReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"]["HasChatReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ChatReservedConcurrency"}, ""]}]}
    concurrency = parameters["ChatReservedConcurrency"]
    assert concurrency["Default"] == ""
    allowed = re.compile(concurrency["AllowedPattern"])
    assert allowed.fullmatch("") and allowed.fullmatch("50")
    assert not allowed.fullmatch("0"), "a reservation of 0 would stop every chat"
    # Off by default, the property would pass checkov on paper: the check is skipped, with the reason, instead.
    assert "CKV_AWS_115" in checkov_skips(chat)


def test_every_checkov_skip_names_a_check_and_gives_a_reason(template: dict[str, Any]) -> None:
    found = 0
    for name, resource in template["Resources"].items():
        entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        ids = [entry.get("id") for entry in entries]
        assert len(ids) == len(set(ids)), f"{name} skips a check twice"
        for check, reason in checkov_skips(resource).items():
            found += 1
            assert re.fullmatch(r"CKV2?_AWS_\d+", check), f"{name}: {check!r}"
            assert len(reason) >= 40 and "\n" not in reason, f"{name} skips {check} without a one-line reason"
    assert found, "template.yaml skips no check inline"


def test_each_function_has_the_posture_or_says_why_not(template: dict[str, Any]) -> None:
    """So the functions later issues add inherit it: checkov (make test) fails on one that has neither."""
    for name, properties in functions(template).items():
        skips = checkov_skips(template["Resources"][name])
        synchronous = all(e["Type"] in SYNCHRONOUS_EVENTS for e in properties.get("Events", {}).values())
        # A dead-letter queue, unless only the API invokes it (a DLQ only ever receives asynchronous failures).
        if "CKV_AWS_116" in skips:
            assert synchronous, f"{name} is invoked asynchronously: it needs a DeadLetterQueue, not a skip"
        else:
            assert "DeadLetterQueue" in properties, f"{name}: no DeadLetterQueue and no reason"
        # A concurrency limit, or the reason there is none.
        reserved = properties.get("ReservedConcurrentExecutions")
        assert isinstance(reserved, int) or "CKV_AWS_115" in skips, f"{name}: no concurrency limit and no reason"
        if synchronous and "CKV_AWS_115" in skips:
            assert "throttl" in skips["CKV_AWS_115"], f"{name}: the API's throttling is what bounds it"


def test_every_log_group_has_a_retention_and_every_queue_is_encrypted(template: dict[str, Any]) -> None:
    for name, group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        assert "RetentionInDays" in group["Properties"], name
    for name, queue in resources_of_type(template, "AWS::SQS::Queue").items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, name


# --- custom tools --------------------------------------------------------------------------------------------------


def test_only_chat_may_invoke_lambda_and_only_the_custom_tool_function_arns_under_a_condition_they_are_given(
        template: dict[str, Any]) -> None:
    arns = template["Parameters"]["CustomToolFunctionArns"]
    assert (arns["Type"], arns["Default"]) == ("CommaDelimitedList", "")
    assert template["Conditions"]["HasCustomToolFunctions"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "CustomToolFunctionArns"}]}, ""]}]}
    invoking = {name: [p for p in properties.get("Policies", []) if "lambda:" in json.dumps(p)]
                for name, properties in functions(template).items()}
    assert {name for name, policies in invoking.items() if policies} == MODEL_FUNCTIONS
    for name in MODEL_FUNCTIONS:
        assert invoking[name] == [{"Fn::If": [
            "HasCustomToolFunctions",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                                     "Resource": {"Ref": "CustomToolFunctionArns"}}]},
            {"Ref": "AWS::NoValue"}]}], name


@pytest.mark.parametrize(("variable", "parameter", "default"), [
    ("CUSTOM_TOOLS", "CustomTools", "[]"), ("TOOLS_BY_SESSION_TYPE", "ToolsBySessionType", "{}")])
def test_the_custom_tools_and_the_tools_by_session_type_reach_the_chat_and_config_functions_alone_with_the_defaults(
        template: dict[str, Any], variable: str, parameter: str, default: str) -> None:
    # Together, and only there: a custom tool's name is known only where CUSTOM_TOOLS is set.
    declared = template["Parameters"][parameter]
    assert (declared["Type"], declared["Default"]) == ("String", default)
    given = {name for name, properties in functions(template).items()
             if variable in properties.get("Environment", {}).get("Variables", {})}
    assert given == MODEL_FUNCTIONS | CONFIG_FUNCTIONS
    assert environment_variables(template)[variable] == {"Ref": parameter}
    assert Settings.from_environ({variable: default}) == Settings()
