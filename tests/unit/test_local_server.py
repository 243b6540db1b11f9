"""The local server's start-up choices: port, DynamoDB engine, table; and the docs function's shipped files."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from localdev import database, dynamodb_local
from localdev.server import DEFAULT_PORT, parse_args

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


def test_an_endpoint_without_the_table_is_an_error_unless_asked_to_create_it(tmp_path: Path) -> None:
    with database.embedded(None, "moto") as db:
        client = database.client(db.endpoint, "us-east-1")
        with pytest.raises(LookupError, match="--create-table"):
            database.ensure_table(client, "missing", create=False)
        assert database.ensure_table(client, "missing", create=True) is True
        assert database.ensure_table(client, "missing", create=False) is False


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
