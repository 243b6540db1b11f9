"""The streaming function's cold start as a client meets it: its start-up command (functions/chat_stream/run.sh, as
the Lambda Web Adapter runs it) until GET /healthz answers, then the first POST /chat/stream until its first text
delta. Prints figures and asserts nothing (these machines are noisy).

Round-robin in one run, each round a fresh process of each:
- the floor: a fresh interpreter that imports boto3 and makes a DynamoDB client (what any function of this stack
  pays), the floor plus `import openai` (what any function that calls OpenAI through its SDK pays), and the floor
  plus a `bedrock-runtime` client (botocore loads that service's model and builds the client; with the event stream
  parser Bedrock's adapter imports, it is what a function that calls Bedrock pays on top of the floor);
- the stream function with OpenAI configured (a loopback fake of its API, scripts/bench_vs_litellm.py's, TCP_NODELAY,
  first chunk at once), with Bedrock configured (tests/fake_bedrock.py, Converse's event stream on loopback, signed
  with dummy credentials, first frame at once), and with no provider (the offline model).

Each start is measured to the first token, so work moved from the start into the first request is still counted.
DynamoDB Local (in memory) answers the function's calls; its JVM is warmed before the first round.

    .venv/bin/python scripts/bench_stream_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_vs_litellm import MODEL, Upstream  # noqa: E402
from fake_bedrock import FakeBedrock  # noqa: E402

from localdev import dynamodb_local  # noqa: E402
from localdev.environment import template_globals  # noqa: E402
from localdev.table import create_table  # noqa: E402
from localdev.template import load_template  # noqa: E402

FUNCTION = ROOT / "functions" / "chat_stream"
LAYER = ROOT / "layers" / "common" / "python"
PYTHON = Path(sys.executable)
TABLE = "bench-stream-start"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# What Bedrock's adapter adds to the floor before its first call: the event stream parser it imports, and the client.
BEDROCK_CLIENT = """
import botocore.eventstream
boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url={endpoint!r})
"""
# The template's plain Globals, as Lambda sets them (PYDANTIC_DISABLE_PLUGINS and Powertools' among them).
BASE_ENV = {**template_globals(load_template(ROOT / "template.yaml")),
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": TABLE, "POWERTOOLS_METRICS_NAMESPACE": "AIChat"}
FLOOR = """
import time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1", endpoint_url={endpoint!r})
t1 = time.perf_counter()
{more}
t2 = time.perf_counter()
print((t2 - t0) * 1000, (t2 - t1) * 1000)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def floor_ms(endpoint: str, more: str = "") -> tuple[float, float]:
    """A fresh interpreter's import of boto3, a DynamoDB client, and `more`, timed inside it: (ms in all, ms of
    `more` alone)."""
    done = subprocess.run([str(PYTHON), "-c", FLOOR.format(endpoint=endpoint, more=more)], capture_output=True,
                          text=True, check=True, env={**os.environ, **BASE_ENV})
    total, more_ms = done.stdout.split()
    return float(total), float(more_ms)


def request_context(user: str) -> str:
    """API Gateway's request context as the adapter forwards it: the token authorizer's claims."""
    return json.dumps({"requestId": f"bench-{user}", "authorizer": {
        "principalId": user, "sub": user, "tenant_id": "bench", "roles": "[]"}})


def launch(endpoint: str, provider: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, float]:
    """Start the function as the adapter does (run.sh) and wait until GET /healthz answers: the process, its port,
    and the milliseconds that took."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "LLM_", "BEDROCK_"))},
           **BASE_ENV, **provider, "DYNAMODB_ENDPOINT_URL": endpoint, "AWS_LWA_PORT": str(port),
           "LAMBDA_TASK_ROOT": str(FUNCTION), "LAMBDA_RUNTIME_DIR": "", "PYTHONPATH": str(LAYER),
           "PATH": f"{PYTHON.parent}:{os.environ['PATH']}",
           "DAILY_COST_LIMIT_CENTS": "100000000", "SESSION_COST_LIMIT_CENTS": "100000000"}
    started = time.perf_counter()
    process = subprocess.Popen(["bash", str(FUNCTION / "run.sh")], cwd=FUNCTION, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"run.sh ended: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return process, port, (time.perf_counter() - started) * 1000
        except OSError:
            time.sleep(0.002)


def stream(port: str | int, session_id: str | None, *, whole: bool = False) -> tuple[float, str | None]:
    """POST /chat/stream as the adapter forwards it: milliseconds to its first text delta (to its end, `whole`),
    and the session it ran in."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = json.dumps({"message": f"How do I reset a password? {time.time_ns()}", "session_id": session_id})
    connection.request("POST", "/api/v1/ai/chat/stream", body=body, headers={
        "content-type": "application/json", "x-amzn-request-context": request_context("bench-user")})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"stream answered {response.status}: {response.read()!r}")
    while True:
        line = response.readline()
        if not line:
            raise SystemExit("the stream ended before its first text delta")
        if not line.startswith(b"data: {"):
            continue
        part = json.loads(line.removeprefix(b"data: "))
        if part["type"] == "start":
            session_id = part["messageMetadata"]["session_id"]
        elif part["type"] == "text-delta":
            break
    first = (time.perf_counter() - started) * 1000
    if whole:
        response.read()
    connection.close()
    return first, session_id


def stream_start(endpoint: str, provider: dict[str, str]) -> tuple[float, float]:
    """run.sh until /healthz answers, then the first stream's first text delta: (ms to ready, ms ready → token)."""
    process, port, ready = launch(endpoint, provider)
    try:
        return ready, stream(port, None)[0]
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="rounds; figures are medians")
    args = parser.parse_args()
    upstream = Upstream()
    openai = {"LLM_PROVIDER": "openai", "LLM_MODEL": MODEL, "OPENAI_API_KEY": "sk-bench-not-a-real-key",
              "OPENAI_BASE_URL": upstream.url}
    fake_bedrock = FakeBedrock()
    bedrock = {"LLM_PROVIDER": "bedrock", "LLM_MODEL": BEDROCK_MODEL, "BEDROCK_ENDPOINT_URL": fake_bedrock.url}
    with dynamodb_local.running() as endpoint:
        import botocore.session

        client = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="bench",
            aws_secret_access_key="bench")
        create_table(client, TABLE)
        targets: dict[str, Callable[[], Any]] = {
            "floor": lambda: floor_ms(endpoint),
            "floor + import openai": lambda: floor_ms(endpoint, "import openai"),
            "floor + bedrock client": lambda: floor_ms(endpoint, BEDROCK_CLIENT.format(endpoint=fake_bedrock.url)),
            "stream, openai": lambda: stream_start(endpoint, openai),
            "stream, bedrock": lambda: stream_start(endpoint, bedrock),
            "stream, offline": lambda: stream_start(endpoint, {"LLM_PROVIDER": "offline"}),
        }
        for target in targets.values():  # warm: DynamoDB Local's JVM, the page cache
            target()
        figures: dict[str, list[Any]] = {name: [] for name in targets}
        for _ in range(args.runs):
            for name, target in targets.items():
                figures[name].append(target())
    upstream.close()
    fake_bedrock.close()
    floor, floor_openai, floor_bedrock = (statistics.median(total for total, _ in figures[name])
                                          for name in ("floor", "floor + import openai", "floor + bedrock client"))
    # What the SDK adds, timed inside the same interpreter after the floor: free of the process's own start.
    added_openai, added_bedrock = (statistics.median(added for _, added in figures[name])
                                   for name in ("floor + import openai", "floor + bedrock client"))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of {args.runs} rounds, round-robin")
    print(f"floor (import boto3 + a DynamoDB client):          {floor:7.0f} ms")
    print(f"floor + import openai:                             {floor_openai:7.0f} ms = {floor_openai / floor:4.2f}x"
          f" (the import alone {added_openai:.0f} ms = {added_openai / floor:4.2f}x the floor)")
    print(f"floor + a bedrock-runtime client:                  {floor_bedrock:7.0f} ms = {floor_bedrock / floor:4.2f}x"
          f" (the client alone {added_bedrock:.0f} ms = {added_bedrock / floor:4.2f}x the floor)")
    with_sdk = {"stream, openai": ("openai", floor_openai), "stream, bedrock": ("bedrock", floor_bedrock)}
    for name in ("stream, openai", "stream, bedrock", "stream, offline"):
        ready = statistics.median(r for r, _ in figures[name])
        token = statistics.median(t for _, t in figures[name])
        total = statistics.median(r + t for r, t in figures[name])
        sdk, floor_sdk = with_sdk.get(name, ("", 0.0))
        beside_sdk = f", {total / floor_sdk:4.2f}x the floor + {sdk}" if sdk else ""
        print(f"{name:18} start to /healthz {ready:6.0f} ms, then first token {token:5.0f} ms: {total:6.0f} ms = "
              f"{total / floor:4.2f}x the floor{beside_sdk}")


if __name__ == "__main__":
    main()
