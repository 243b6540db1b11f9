"""The local server's DynamoDB: DynamoDB Local (Java) keeping data in a folder, else moto's server, or any URL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import botocore.session
from botocore.exceptions import ClientError

from localdev import dynamodb_local
from localdev.table import TABLES, create_table

Engine = Literal["auto", "dynamodb-local", "moto"]
# DynamoDB Local keeps one file per access key and region, so the embedded database always uses these: given to the
# functions' DynamoDB client alone (DYNAMODB_ACCESS_KEY_ID / _SECRET_ACCESS_KEY), so every other client, Bedrock's
# above all, keeps the caller's own credentials.
LOCAL_CREDENTIALS = {"DYNAMODB_ACCESS_KEY_ID": "local", "DYNAMODB_SECRET_ACCESS_KEY": "local"}
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Database:
    endpoint: str
    description: str
    persistent: bool
    warning: str | None = None
    external: bool = False  # named by DYNAMODB_ENDPOINT_URL, not started here


@contextlib.contextmanager
def chosen(endpoint_url: str | None, data_dir: Path | None, engine: Engine = "auto") -> Iterator[Database]:
    """The local server's database: the endpoint named (DYNAMODB_ENDPOINT_URL) as it is, else an embedded one."""
    if endpoint_url:
        yield Database(endpoint_url, f"{endpoint_url} (DYNAMODB_ENDPOINT_URL)", persistent=True, external=True)
        return
    with embedded(data_dir, engine) as db:
        yield db


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's DynamoDB server in a thread of this process, on a free loopback port; in memory only."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per DynamoDB call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def embedded(data_dir: Path | None, engine: Engine = "auto") -> Iterator[Database]:
    """Start DynamoDB Local (data in data_dir, or in memory when None); without Java, moto's server instead."""
    with contextlib.ExitStack() as stack:
        reason = "asked for with --moto"
        if engine != "moto":
            try:
                url = stack.enter_context(dynamodb_local.running(data_dir=data_dir))
            except dynamodb_local.DynamoDBLocalUnavailable as e:
                if engine == "dynamodb-local":
                    raise
                reason = str(e)
            else:
                where = f"data kept in {data_dir}" if data_dir else "in memory"
                yield Database(url, f"DynamoDB Local at {url} ({where})", persistent=data_dir is not None)
                return
        url = stack.enter_context(moto_server())
        yield Database(url, f"moto's DynamoDB server at {url} (in memory)", persistent=False, warning=(
            f"DynamoDB Local is not available: {reason}\n"
            "Using moto's DynamoDB server instead. Its data is IN MEMORY: every session and counter is lost when "
            "the server stops. The budget tests under concurrency run on DynamoDB Local, not on moto."))


def client(endpoint: str, region: str, environ: Mapping[str, str] | None = None) -> Any:
    """A DynamoDB client for `endpoint`: with DynamoDB's own credentials where `environ` sets them, else the
    process's."""
    environ = environ or {}
    key, secret = environ.get("DYNAMODB_ACCESS_KEY_ID"), environ.get("DYNAMODB_SECRET_ACCESS_KEY")
    if not (key and secret):
        key = secret = None
    return botocore.session.get_session().create_client("dynamodb", region_name=region, endpoint_url=endpoint,
                                                        aws_access_key_id=key, aws_secret_access_key=secret)


def ensure_tables(db: Any, names: Mapping[str, str], create: bool) -> str:
    """Make sure each of the template's tables exists under its name (resource -> name); what was done, in words."""
    done = [f"{name}{' (created)' if ensure_table(db, name, create, resource) else ''}"
            for resource, name in names.items()]
    return ", ".join(done)


def ensure_table(db: Any, table_name: str, create: bool, resource: str = "Table") -> bool:
    """Make sure the table exists, creating it as template.yaml declares it when `create`; True if it was created."""
    try:
        db.describe_table(TableName=table_name)
        return False
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    if not create:
        raise LookupError(f"Table {table_name!r} does not exist at {db.meta.endpoint_url}; pass --create-table to "
                          f"create it as template.yaml declares it, or set {TABLES[resource]} to an existing table.")
    create_table(db, table_name, resource)
    return True
