"""What the local server prints as it starts: which database, which model, how to get a token, its routes and
schedules, the docs, and last the line saying where it runs (localdev/process.py and the browser tests wait for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from localdev.database import Database
from localdev.gateway import GatewayRoute
from localdev.schedules import Schedule
from localdev.streams import StreamRoute

TITLE = "AI chat - local server"
DYNAMODB_LINE = "  DynamoDB: "
READY = "AI chat is running at "


def database(db: Database, tables: str) -> str:
    """The DynamoDB line: where the data is, and the tables (`tables` says which were created)."""
    return f"{DYNAMODB_LINE}{db.description}, tables {tables}"


def model(settings: Any, environ: Mapping[str, str]) -> str:
    """Which model answers chats, and whether its provider's key is set."""
    from aichat.core.provider_catalog import key_variable_names, known

    name = settings.provider
    if name == "offline":
        return f"offline: a deterministic local model (set {' or '.join(key_variable_names())} to use a real one)"
    entry = known(name)
    chosen = settings.LLM_MODEL or entry.default_model or "its default model"
    if not entry.key_variable or any(environ.get(k) for k in entry.key_settings()):
        return f"{name}, {chosen} (its key is set)" if entry.key_variable else f"{name}, {chosen}"
    return f"{name}, {chosen} - but {entry.key_variable} is not set, so chats will answer 503 provider_not_configured"


def ready(url: str) -> str:
    """The last line of the banner: the server answers from now on."""
    return f"{READY}{url}/  (Ctrl-C stops it)"


def lines(settings: Any, environ: Mapping[str, str], routes: Sequence[GatewayRoute], schedules: Sequence[Schedule],
          url: str, streams: Sequence[StreamRoute] = ()) -> list[str]:
    """The banner after the DynamoDB line, up to and including the ready line."""
    secret = "LOCAL_JWT_SECRET" if environ.get("LOCAL_JWT_SECRET") else "the default LOCAL_JWT_SECRET"
    return [
        f"  Model:    {model(settings, environ)}",
        f"  Tokens:   HS256 signed with {secret}; mint one with: make token USER=alice TENANT=acme",
        "            support staff (the /agent routes): make token USER=dana TENANT=acme STAFF=1 NAME='Dana Reyes'",
        f"  Routes:   {len(routes)} from template.yaml",
        *(f"            {route.method:6} {route.path}  ->  {route.function}{'' if route.authorized else '  (no token)'}"
          for route in sorted(routes, key=lambda r: r.path)),
        *(f"  Stream:   {route.method:6} {route.path}  ->  {route.function} (an ASGI app; in AWS under the Lambda "
          "Web Adapter)" for route in streams),
        *(f"  Schedule: {s.function} every {s.every_seconds} s ({s.rule})" for s in schedules),
        f"  Docs:     {url}/docs  {url}/redoc  {url}/openapi.json",
        ready(url),
    ]
