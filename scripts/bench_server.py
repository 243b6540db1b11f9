"""The local server under load: parallel clients on loopback, a fixed number of POST /chat with the offline model.

Prints figures and asserts nothing (these machines are noisy). For each number of clients: requests per second,
client latency (p50, p90, p99), and where a request's time goes, from the server's Server-Timing header (`--timing`):
the client, loopback and the server's HTTP (uvicorn reading and writing, the hand-off to the request's thread), the
gateway (routing, JWT check, the payload-2.0 event), the handler outside DynamoDB (validation, budgets arithmetic, the
offline model, JSON), and DynamoDB (botocore's before-call to after-call, so signing, the loopback round trip and
DynamoDB Local's own work).

Each client is one user with one keep-alive connection, chatting on in its own session (one Query and two
TransactWriteItems per chat), on DynamoDB Local in memory.

    .venv/bin/python scripts/bench_server.py [--clients 1,8,32] [--requests 1000] [--warmup 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script from anywhere: the repository root (for localdev) goes first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev import process
from localdev.timing import parse_header
from localdev.token import mint

PATH = "/api/v1/ai/chat"
# Budgets far above what a run spends: this measures the path, not the refusals.
SERVER_ENV = {"DAILY_COST_LIMIT_CENTS": "100000000", "SESSION_COST_LIMIT_CENTS": "100000000",
              "MAX_MESSAGES_PER_SESSION": "1000000", "MAX_SESSIONS_PER_USER_PER_DAY": "1000000"}


@dataclass
class Sample:
    latency_ms: float
    status: int
    timings: dict[str, float]


@dataclass
class Run:
    clients: int
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def client_loop(url: str, token: str, tickets: threading.Semaphore, start: threading.Barrier) -> list[Sample]:
    """Chat on one keep-alive connection while tickets last; the first chat starts the session."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    session_id: str | None = None
    samples: list[Sample] = []
    start.wait()
    while tickets.acquire(blocking=False):
        body = json.dumps({"message": f"Question {len(samples)}: how do I reset a customer password?",
                           "session_id": session_id})
        started = time.perf_counter()
        connection.request("POST", PATH, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        latency = (time.perf_counter() - started) * 1000
        if response.status == 200 and session_id is None:
            session_id = json.loads(payload)["session_id"]
        samples.append(Sample(latency, response.status, parse_header(response.getheader("server-timing") or "")))
    connection.close()
    return samples


def run(url: str, secret: str, clients: int, requests: int, tag: str) -> Run:
    tickets = threading.Semaphore(requests)
    start = threading.Barrier(clients + 1)
    tokens = [mint(f"bench-{tag}-{i}", "bench", secret=secret) for i in range(clients)]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client_loop, url, tokens[i], tickets, start) for i in range(clients)]
        start.wait()
        began = time.perf_counter()
        results = [f.result() for f in futures]
        elapsed = time.perf_counter() - began
    return Run(clients, elapsed, [s for r in results for s in r])


def report(result: Run) -> None:
    ok = [s for s in result.samples if s.status == 200]
    failed = len(result.samples) - len(ok)
    latencies = [s.latency_ms for s in ok]
    mean = {name: statistics.fmean(s.timings.get(name, 0.0) for s in ok)
            for name in ("total", "handler", "dynamodb", "dynamodb_calls")}
    client = statistics.fmean(latencies)
    parts = [
        ("client, loopback, HTTP", client - mean["total"]),
        ("gateway: route, JWT, event", mean["total"] - mean["handler"]),
        ("handler outside DynamoDB", mean["handler"] - mean["dynamodb"]),
        (f"DynamoDB ({mean['dynamodb_calls']:.1f} calls)", mean["dynamodb"]),
    ]
    print(f"\n{result.clients} client(s): {len(result.samples)} requests in {result.seconds:.1f} s"
          f"{f', {failed} NOT 200' if failed else ''}")
    print(f"  throughput        {len(result.samples) / result.seconds:8.1f} requests/s")
    print(f"  latency (client)  p50 {percentile(latencies, 50):6.1f} ms   p90 {percentile(latencies, 90):6.1f} ms"
          f"   p99 {percentile(latencies, 99):6.1f} ms   mean {client:6.1f} ms")
    print("  mean time per request:")
    for name, ms in parts:
        print(f"    {name:28} {ms:7.2f} ms  {100 * ms / client:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated numbers of parallel clients")
    parser.add_argument("--requests", type=int, default=1000, help="POST /chat requests per number of clients")
    parser.add_argument("--warmup", type=int, default=50, help="requests first, not counted")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"POST {PATH}, offline model, DynamoDB Local in memory")
    with process.started("--in-memory", "--timing", "--quiet", env=SERVER_ENV) as server:
        run(server.url, server.secret, max(levels), args.warmup, "warmup")
        for clients in levels:
            report(run(server.url, server.secret, clients, args.requests, f"c{clients}"))


if __name__ == "__main__":
    main()
