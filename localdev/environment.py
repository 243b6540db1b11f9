"""The process environment the functions read, set up as the stack sets theirs, as far as one machine can.

Every function runs in this one process, so they all share one os.environ. The functions' DynamoDB client reads its
endpoint, region and credentials from it; the template's Globals give the plain values (POWERTOOLS_*); the values
the stack builds from its resources (TABLE_NAME from the table, ESCALATION_TOPIC_ARN, the Cognito claim names) are
left to the layer's defaults and to whatever the developer set. There is no EventBridge here: domain events are logged.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from localdev.database import LOCAL_CREDENTIALS, LOCAL_REGION, Database
from localdev.table import TABLES

# The template's table names, which the layer also uses by default.
DEFAULT_TABLE_NAMES = {"TABLE_NAME": "ai-chat"}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def table_names(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Each table of the template (resource -> name): the template's names unless the environment names others."""
    for setting, name in DEFAULT_TABLE_NAMES.items():
        environ.setdefault(setting, name)
    return {resource: environ[setting] for resource, setting in TABLES.items()}


def use_database(environ: MutableMapping[str, str], db: Database) -> None:
    """Point the functions' DynamoDB client at `db`, before any function loads. Its credentials are its own
    (DYNAMODB_ACCESS_KEY_ID / _SECRET_ACCESS_KEY): the caller's AWS credentials are left as they are, for every other
    client (a real Bedrock is called signed as the caller, never as `local`)."""
    if db.external:
        # A stand-in on this machine ignores credentials, but botocore still wants some; anywhere else, the real
        # ones (environment or profile) are the table's too.
        if urlsplit(db.endpoint).hostname in _LOOPBACK:
            for name, value in LOCAL_CREDENTIALS.items():
                environ.setdefault(name, value)
        environ.setdefault("AWS_REGION", LOCAL_REGION)
        return
    # The embedded database keeps one file per access key and region: always the same ones. The region is the
    # process's (the table's client reads AWS_REGION), so Bedrock keeps the caller's own region unless named.
    environ.update(LOCAL_CREDENTIALS)
    if environ.get("AWS_REGION", LOCAL_REGION) != LOCAL_REGION:
        environ.setdefault("BEDROCK_REGION", environ["AWS_REGION"])
    environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
    environ["DYNAMODB_ENDPOINT_URL"] = db.endpoint


def log_events_without_a_bus(environ: MutableMapping[str, str]) -> None:
    """No EventBridge on this machine: the functions log each domain event at INFO instead of sending it
    (EVENTS_ENABLED=false), unless EVENTS_ENDPOINT_URL names a stand-in or EVENTS_ENABLED is set already."""
    if not environ.get("EVENTS_ENDPOINT_URL"):
        environ.setdefault("EVENTS_ENABLED", "false")


def template_globals(template: Mapping[str, Any]) -> dict[str, str]:
    """Globals' environment variables with plain values (POWERTOOLS_*); those built from stack resources differ
    locally and are left to the layer's defaults and this process's environment."""
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {name: str(value) for name, value in variables.items() if isinstance(value, str | int | float)}


def apply_template_globals(environ: MutableMapping[str, str], template: Mapping[str, Any]) -> None:
    """The template's plain Globals values, where the environment does not already set them."""
    for name, value in template_globals(template).items():
        environ.setdefault(name, value)
