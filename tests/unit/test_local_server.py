"""The local server's start-up choices: port, DynamoDB engine, table, environment, functions, banner; stopping it;
and the docs function's shipped files."""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from localdev import banner, database, dynamodb_local, environment, lambdas, process
from localdev.gateway import gateway_from_template
from localdev.schedules import schedules_from_template
from localdev.server import DEFAULT_PORT, parse_args
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "functions" / "docs"


def test_the_port_is_3000_unless_port_or_the_flag_says_otherwise() -> None:
    assert parse_args([], {}).port == DEFAULT_PORT == 3000
    assert parse_args([], {"PORT": "8080"}).port == 8080
    assert parse_args(["--port", "0"], {"PORT": "8080"}).port == 0


def test_a_bad_port_is_refused_naming_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args([], {"PORT": "eighty"})
    assert "PORT must be a whole number from 0 to 65535, not 'eighty'" in capsys.readouterr().err


def test_without_java_the_embedded_database_is_motos_server_and_says_the_data_is_in_memory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None)
    with database.embedded(tmp_path / "data") as db:
        assert not db.persistent and "moto" in db.description
        assert db.warning is not None and "IN MEMORY" in db.warning and "Java 17+ is needed" in db.warning
        client = database.client(db.endpoint, "us-east-1")
        assert database.ensure_table(client, "ai-chat", create=True) is True
        assert client.describe_table(TableName="ai-chat")["Table"]["KeySchema"][0]["AttributeName"] == "PK"


@pytest.mark.dynamodb_local
def test_dynamodb_local_keeps_its_data_in_the_folder_across_restarts(tmp_path: Path) -> None:
    for restart in range(2):
        with database.embedded(tmp_path) as db:
            assert db.persistent and str(tmp_path) in db.description
            client = database.client(db.endpoint, "us-east-1")
            created = database.ensure_table(client, "ai-chat", create=True)
            assert created is (restart == 0), "the second start finds the table the first one made"


@pytest.mark.dynamodb_local
def test_a_port_taken_before_dynamodb_local_binds_it_is_traded_for_another(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process takes the port free_port() picked before Java binds it: what parallel test workers do.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1], dynamodb_local.free_port()])
        monkeypatch.setattr(dynamodb_local, "free_port", lambda: next(ports))
        with dynamodb_local.running(timeout=60) as endpoint:
            assert not endpoint.endswith(f":{taken.getsockname()[1]}"), "the taken port was given up"
            client = database.client(endpoint, "us-east-1")
            assert client.list_tables()["TableNames"] == []
        # A port asked for by name is not traded.
        with pytest.raises(dynamodb_local.DynamoDBLocalUnavailable, match="BindException"), \
                dynamodb_local.running(port=taken.getsockname()[1], timeout=60):
            pass


def test_an_endpoint_without_the_table_is_an_error_unless_asked_to_create_it(tmp_path: Path) -> None:
    with database.embedded(None, "moto") as db:
        client = database.client(db.endpoint, "us-east-1")
        with pytest.raises(LookupError, match="--create-table"):
            database.ensure_table(client, "missing", create=False)
        assert database.ensure_table(client, "missing", create=True) is True
        assert database.ensure_table(client, "missing", create=False) is False


# --- the environment the functions read ---------------------------------------------------------------------


def test_the_embedded_database_gets_the_fixed_local_credentials_for_its_client_alone_and_its_endpoint() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "real", "AWS_SESSION_TOKEN": "t",
               "AWS_REGION": "eu-west-1"}
    environment.use_database(environ, database.Database("http://127.0.0.1:9", "embedded", persistent=False))
    # The caller's credentials stay for every other client (a real Bedrock is called as the caller, in the
    # caller's region); DynamoDB Local's file is always the same key's and region's.
    assert environ == {"AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "real", "AWS_SESSION_TOKEN": "t",
                       "DYNAMODB_ACCESS_KEY_ID": "local", "DYNAMODB_SECRET_ACCESS_KEY": "local",
                       "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "BEDROCK_REGION": "eu-west-1",
                       "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9"}


def test_an_endpoint_on_this_machine_gets_stand_in_credentials_and_any_other_keeps_the_real_ones() -> None:
    loopback = {"AWS_ACCESS_KEY_ID": "mine"}
    environment.use_database(loopback, database.Database("http://localhost:8000", "x", True, external=True))
    assert loopback == {"AWS_ACCESS_KEY_ID": "mine", "DYNAMODB_ACCESS_KEY_ID": "local",
                        "DYNAMODB_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}
    remote: dict[str, str] = {}
    environment.use_database(remote, database.Database("https://dynamodb.eu-west-1.amazonaws.com", "x", True,
                                                       external=True))
    assert remote == {"AWS_REGION": "us-east-1"}


def test_table_names_are_the_templates_unless_the_environment_names_others() -> None:
    environ = {"TABLE_NAME": "mine"}
    assert environment.table_names(environ) == {"Table": "mine"}
    assert environment.table_names({}) == {"Table": "ai-chat"}


def test_only_the_templates_plain_global_values_are_applied_and_the_environment_wins() -> None:
    template = {"Globals": {"Function": {"Environment": {"Variables": {
        "POWERTOOLS_SERVICE_NAME": "ai-chat", "LOG_LEVEL": "INFO", "TABLE_NAME": {"Ref": "Table"}}}}}}
    environ = {"LOG_LEVEL": "DEBUG"}
    environment.apply_template_globals(environ, template)
    assert environ == {"LOG_LEVEL": "DEBUG", "POWERTOOLS_SERVICE_NAME": "ai-chat"}


# --- the functions, loaded as Lambda loads them -----------------------------------------------------------------


def test_functions_sharing_a_module_share_one_handler_and_sys_path_is_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("VALUE = 41\n")
    (tmp_path / "app.py").write_text("import helper\nLOADS = []\nLOADS.append(1)\n"
                                     "def handler(event, context):\n"
                                     "    return helper.VALUE + len(LOADS), context.function_name\n")
    path_before = list(sys.path)
    config = {"code_dir": tmp_path, "handler": "app.handler", "timeout": 3, "memory": 128}
    one, two = SimpleNamespace(function="One", **config), SimpleNamespace(function="Two", **config)
    functions = lambdas.Functions([one, two])
    assert sys.path == path_before, "the code folder is on sys.path only while its module loads"
    assert functions.handlers["One"] is functions.handlers["Two"]
    assert functions.invoke(two, {}) == (42, "Two"), "one module load; the context names the function invoked"


def test_the_lambda_context_counts_down_from_the_templates_timeout() -> None:
    context = lambdas.context_for(SimpleNamespace(function="ChatFunction", timeout=60, memory=1024))
    assert 59_000 < context.get_remaining_time_in_millis() <= 60_000
    assert (context.memory_limit_in_mb, context.invoked_function_arn.rsplit(":", 1)[1]) == (1024, "ChatFunction")
    another = lambdas.context_for(SimpleNamespace(function="ChatFunction", timeout=60, memory=1024))
    assert context.aws_request_id != another.aws_request_id, "each invocation has a request id of its own"


# --- the banner -------------------------------------------------------------------------------------------------


def test_the_banner_lists_routes_and_schedules_and_ends_with_the_line_the_tests_wait_for() -> None:
    template = load_template(ROOT / "template.yaml")
    routes = gateway_from_template(template, ROOT).routes
    lines = banner.lines(SimpleNamespace(provider="offline"), {}, routes, schedules_from_template(template, ROOT),
                         "http://127.0.0.1:4321")
    ready = re.search(re.escape(banner.READY) + r"(http://\S+?)/?\s", lines[-1] + "\n")
    assert ready is not None and ready.group(1) == "http://127.0.0.1:4321", "the URL as process.py reads it"
    assert any(line.strip() == "GET    /openapi.json  ->  DocsFunction  (no token)" for line in lines)
    assert any(line.startswith("  Schedule: SweepTurnsFunction every 300 s") for line in lines)
    assert "the default LOCAL_JWT_SECRET" in lines[1]


def test_a_named_provider_without_its_key_is_said_plainly_in_the_banner() -> None:
    line = banner.model(SimpleNamespace(provider="openai", LLM_MODEL="gpt-x"), {})
    assert line == "openai, gpt-x - but OPENAI_API_KEY is not set, so chats will answer 503 provider_not_configured"
    assert banner.model(SimpleNamespace(provider="openai", LLM_MODEL="gpt-x"), {"OPENAI_API_KEY_SECRET": "s"}) == (
        "openai, gpt-x (its key is set)")


# --- the server process -----------------------------------------------------------------------------------------


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "localdev", "--port", str(port), "--moto"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr and "DynamoDB" not in done.stdout


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.dynamodb_local
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
def test_sigterm_stops_the_server_and_dynamodb_local_with_it_and_exits_0() -> None:
    with process.started("--in-memory", "--quiet") as server:
        assert server.process is not None
        java = _children(server.process.pid)
        assert java, "DynamoDB Local runs as a child of the server"
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        assert "Stopping." in server.output()
    for pid in java:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), (
            f"DynamoDB Local ({pid}) was stopped with the server")


# --- the docs function as sam build ships it -----------------------------------------------------------------------


def load_app(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_app_{abs(hash(path))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_makefile_ships_every_asset_the_pages_load_beside_the_handler(tmp_path: Path) -> None:
    subprocess.run(["make", "--no-print-directory", "-f", str(DOCS / "Makefile"), "build-DocsFunction",
                    f"ARTIFACTS_DIR={tmp_path}"], cwd=DOCS, check=True, capture_output=True)
    built = load_app(tmp_path / "app.py")
    assert built.NODE_MODULES.resolve() != (ROOT / "node_modules").resolve(), "the artifact stands alone"
    assert {p.name for p in (tmp_path / "static").iterdir()} == set(built.ASSETS)
    for name in built.ASSETS:
        reply = built.lambda_handler({"routeKey": "GET /docs/assets/{asset}", "pathParameters": {"asset": name},
                                      "headers": {}}, None)
        assert reply["statusCode"] == 200 and reply["isBase64Encoded"], name


def docs_event(route: str, **extra: Any) -> dict[str, Any]:
    return {"routeKey": route, "headers": {}, **extra}


def test_the_docs_function_answers_each_of_its_routes() -> None:
    app = load_app(DOCS / "app.py")
    spec = app.lambda_handler(docs_event("GET /openapi.json"), None)
    assert spec["headers"]["Content-Type"] == "application/json" and '"openapi":"3.1.0"' in spec["body"]
    for route in ("GET /docs", "GET /redoc"):
        page = app.lambda_handler(docs_event(route), None)
        assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    missing = app.lambda_handler(docs_event("GET /docs/assets/{asset}", pathParameters={"asset": "x.js"}), None)
    assert missing["statusCode"] == 404 and '"asset_not_found"' in missing["body"]
