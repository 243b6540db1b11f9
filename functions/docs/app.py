"""GET /openapi.json, /docs, /redoc and /docs/assets/{asset}: the API's documentation, from the layer's models."""

import base64
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

from aichat.api import openapi
from aichat.api.http_edge import Reply
from aichat.core import logs

HERE = Path(__file__).resolve().parent
# The Makefile (sam build) copies each file into static/; run from the repository, they are read from node_modules.
ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
}
NODE_MODULES = HERE.parent.parent / "node_modules"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
PAGES = {"GET /docs": openapi.swagger_ui_page, "GET /redoc": openapi.redoc_page}


@cache
def spec() -> str:
    return openapi.spec_json()


def asset(name: str) -> tuple[bytes, bytes] | None:
    """The file and its gzip; None for a name the pages never ask for."""
    # Anyone may ask for any name, without a token: an unknown one never reaches the cache, which holds the few
    # known files and nothing a caller can add to.
    return read_asset(name) if name in ASSETS else None


@cache
def read_asset(name: str) -> tuple[bytes, bytes] | None:
    """One of ASSETS and its gzip, read once per container; None when the file is missing."""
    for path in (HERE / "static" / name, NODE_MODULES / ASSETS[name]):
        if path.is_file():
            data = path.read_bytes()
            return data, gzip.compress(data, mtime=0)
    return None


def text(body: str, content_type: str) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": content_type}, "body": body, "isBase64Encoded": False}


def serve_asset(event: dict[str, Any]) -> dict[str, Any]:
    name = str((event.get("pathParameters") or {}).get("asset", ""))
    found = asset(name)
    if found is None:
        missing = openapi.AssetNotFound(f"No documentation asset is called {name!r}.")
        return Reply(missing.body(), missing.status).to_lambda()
    data, zipped = found
    headers = {"Content-Type": CONTENT_TYPES[Path(name).suffix], "Cache-Control": "public, max-age=86400"}
    # A megabyte of script: gzip it when the browser takes gzip, which API Gateway passes on as base64.
    if "gzip" in (event.get("headers") or {}).get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        data = zipped
    return {"statusCode": 200, "headers": headers, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}


@logs.api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event.get("routeKey", "")
    if route == "GET /openapi.json":
        return text(spec(), "application/json")
    if route in PAGES:
        return text(PAGES[route](), "text/html; charset=utf-8")
    if route == f"GET {openapi.ASSETS_PATH}/{{asset}}":
        return serve_asset(event)
    return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": "Not Found"}), "isBase64Encoded": False}
