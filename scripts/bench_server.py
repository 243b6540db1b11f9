"""The local server under load: parallel clients on loopback, a fixed number of POST /chat with the offline model.

Prints figures and asserts nothing (these machines are noisy). For each number of clients: requests per second,
client latency (p50, p90, p99), and where a request's time goes, from the server's Server-Timing header (`--timing`):
the client, loopback and the server's HTTP (uvicorn reading and writing, the hand-off to the request's thread), the
gateway (routing, JWT check, the payload-2.0 event), the handler outside DynamoDB (validation, budgets arithmetic, the
offline model, JSON), and DynamoDB (botocore's before-call to after-call, so signing, the loopback round trip and
DynamoDB Local's own work).

Each client is one user with one keep-alive connection, chatting on in its own session (one Query and two
TransactWriteItems per chat), on DynamoDB Local in memory.

    .venv/bin/python scripts/bench_server.py [--clients 1,8,32] [--requests 1000] [--warmup 50] [--streams 40]

Then POST /chat/stream against a loopback fake of OpenAI's API (tests/fake_providers.py, its own wire format,
through the real SDK): the server's time before the first text-delta reaches the client, minus the fake's own time
from reading the request to sending its first event, beside the target (two DynamoDB round trips, as measured on
POST /chat in the same run, plus 5 ms); and how often each stream read its stop flag (the "turn settled" log line's
stop_reads) over how long it streamed.
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Run as a script from anywhere: the repository root (for localdev) goes first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev import process
from localdev.timing import parse_header
from localdev.token import mint

PATH = "/api/v1/ai/chat"
STREAM_PATH = "/api/v1/ai/chat/stream"
ROOT = Path(__file__).resolve().parent.parent
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


@dataclass
class StreamSample:
    first_delta_ms: float  # client: request sent -> first text-delta read
    total_ms: float  # client: request sent -> [DONE]
    provider_first_ms: float  # the fake: request read -> first event sent


def stream_once(url: str, token: str, session_id: str | None) -> tuple[float, float, str]:
    """One POST /chat/stream read to its end: ms to the first text-delta, ms to [DONE], the session id."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    body = json.dumps({"message": "How do I reset a customer password?", "session_id": session_id})
    started = time.perf_counter()
    connection.request("POST", STREAM_PATH, body=body, headers={"Authorization": f"Bearer {token}",
                                                                "Content-Type": "application/json"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"POST {STREAM_PATH} answered {response.status}: {response.read()!r}")
    first = 0.0
    session = session_id or ""
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data: {"):
            continue
        part = json.loads(line.removeprefix("data: "))
        if part["type"] == "text-delta" and not first:
            first = (time.perf_counter() - started) * 1000
        if part["type"] == "start":
            session = part["messageMetadata"]["session_id"]
    total = (time.perf_counter() - started) * 1000
    connection.close()
    return first, total, session


# Streams run (and not timed) before a phase's figures are taken.
WARM_STREAMS = 30


def stream_figures(streams: int, dynamodb_round_trip_ms: float) -> None:
    """Time to the first delta on the server, and stop-flag reads per stream, against the OpenAI fake."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_providers import FakeProviders, Scripted

    fake = FakeProviders()
    words = [f"word{i} " for i in range(40)]
    env = {**SERVER_ENV, "LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-bench-not-a-real-key",
           "OPENAI_BASE_URL": fake.openai_url}
    try:
        with process.started("--in-memory", "--quiet", env=env) as server:
            token = mint("bench-stream", "bench", secret=server.secret)
            # Warm before timing: this phase's DynamoDB Local is fresh (its JVM still compiling), as are connections.
            fake.enqueue("openai", *[Scripted(deltas=words) for _ in range(WARM_STREAMS)])
            _, _, session = stream_once(server.url, token, None)  # the session, and warm connections
            for _ in range(WARM_STREAMS - 1):
                stream_once(server.url, token, session)
            samples = []
            for i in range(streams):
                # Every fourth stream takes 2 s (50 ms a word), so the stop flag is read while it streams.
                fake.enqueue("openai", Scripted(deltas=words, pause=0.05 if i % 4 == 0 else 0.0))
                first, total, _ = stream_once(server.url, token, session)
                log = fake.streams[-1]
                provider_first = ((log.first_event_at or log.received_at) - log.received_at) * 1000
                samples.append(StreamSample(first, total, provider_first))
            settled = [json.loads(line) for line in server.output().splitlines()
                       if line.startswith("{") and '"turn settled"' in line]
    finally:
        fake.close()
    overhead = [s.first_delta_ms - s.provider_first_ms for s in samples]
    target = 2 * dynamodb_round_trip_ms + 5
    print(f"\nPOST {STREAM_PATH}: {streams} streams in one session, OpenAI's wire format from a loopback fake")
    print(f"  client to first text-delta   p50 {percentile([s.first_delta_ms for s in samples], 50):6.1f} ms"
          f"   mean {statistics.fmean(s.first_delta_ms for s in samples):6.1f} ms")
    print(f"  fake: request to 1st event   mean {statistics.fmean(s.provider_first_ms for s in samples):6.2f} ms")
    print(f"  server before first delta    p50 {percentile(overhead, 50):6.1f} ms   p90 {percentile(overhead, 90):6.1f}"
          f" ms   mean {statistics.fmean(overhead):6.1f} ms")
    print(f"  target: 2 DynamoDB round trips ({dynamodb_round_trip_ms:.1f} ms each, from POST /chat above) + 5 ms"
          f" = {target:.1f} ms; p50 is {percentile(overhead, 50) / target:.2f}x the target")
    reads = [(int(line.get("stop_reads", 0)), s.total_ms / 1000) for line, s in zip(settled[-streams:], samples,
                                                                                    strict=True)]
    slow = [(r, sec) for r, sec in reads if sec > 1.5]
    fast = [(r, sec) for r, sec in reads if sec <= 1.5]
    print(f"  stop-flag reads (STOP_CHECK_SECONDS=1.0): {statistics.fmean(r for r, _ in slow):.1f} per stream of "
          f"{statistics.fmean(sec for _, sec in slow):.1f} s ({len(slow)} streams); "
          f"{statistics.fmean(r for r, _ in fast):.1f} per stream of {statistics.fmean(sec for _, sec in fast):.2f} s "
          f"({len(fast)} streams)")


class _TimedProvider:
    """A provider whose stream notes when it was asked and when its first part came (the SDK's own time)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.asked = self.first = 0.0

    def complete(self, request: Any) -> Any:
        return self.inner.complete(request)

    def stream(self, request: Any) -> Iterator[Any]:
        self.asked, self.first = time.perf_counter(), 0.0
        for part in self.inner.stream(request):
            self.first = self.first or time.perf_counter()
            yield part


def stream_breakdown(streams: int) -> None:
    """In one process: where a stream's time before its first delta goes (DynamoDB, the SDK, the rest)."""
    sys.path[:0] = [str(ROOT / "layers" / "common" / "python"), str(ROOT / "tests")]
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    import botocore.session
    from fake_providers import FakeProviders, Scripted

    from aichat import wiring
    from aichat.core.identity import Identity
    from aichat.core.models import ChatRequest
    from aichat.core.settings import Settings
    from aichat.providers.openai import OpenAIProvider
    from aichat.turn.stream_events import ReplyText
    from localdev import dynamodb_local
    from localdev.table import create_table

    fake = FakeProviders()
    calls: list[tuple[str, float]] = []
    began: dict[int, float] = {}

    def before(model: Any, **_: Any) -> None:
        began[threading.get_ident()] = time.perf_counter()

    def after(model: Any, **_: Any) -> None:
        calls.append((model.name, time.perf_counter() - began.pop(threading.get_ident(), time.perf_counter())))

    try:
        with dynamodb_local.running() as url:
            db = botocore.session.get_session().create_client(
                "dynamodb", region_name="us-east-1", endpoint_url=url, aws_access_key_id="bench",
                aws_secret_access_key="bench")
            create_table(db, "ai-chat")
            settings = Settings(TABLE_NAME="ai-chat", LLM_PROVIDER="openai", OPENAI_API_KEY="sk-bench",
                                OPENAI_BASE_URL=fake.openai_url, EVENTS_ENABLED=False, **SERVER_ENV)  # type: ignore[arg-type]
            timed = _TimedProvider(OpenAIProvider("sk-bench", base_url=fake.openai_url, timeout=10,
                                                  max_tokens_parameter="max_completion_tokens"))
            services = wiring.build(settings, dynamodb=db, providers={"openai": timed})
            me = Identity(user_id="bench", tenant_id="bench", roles=frozenset())
            db.meta.events.register("before-call", before)
            db.meta.events.register("after-call", after)
            session: str | None = None
            rows: list[tuple[float, float, int, float]] = []
            for i in range(streams + WARM_STREAMS):
                fake.enqueue("openai", Scripted(deltas=["one ", "two ", "three"]))
                calls.clear()
                started = time.perf_counter()
                turn = services.chat.stream(me, ChatRequest(message="How do I reset a password?", session_id=session))
                first = next(turn)
                session = getattr(first, "session_id", session)
                delta_at = 0.0
                for event in turn:
                    if isinstance(event, ReplyText) and not delta_at:
                        delta_at = time.perf_counter()
                        before_delta = [c for c in calls]
                total = (delta_at - started) * 1000
                if i >= WARM_STREAMS:  # the first turns open the session and warm DynamoDB Local and connections
                    rows.append((total, sum(ms for _, ms in before_delta) * 1000, len(before_delta),
                                 (timed.first - timed.asked) * 1000))
    finally:
        fake.close()
    total, dynamodb, count, sdk = (statistics.median(r[k] for r in rows) for k in range(4))
    print(f"\nIn one process (DynamoDB Local, the OpenAI SDK against the fake), median of {len(rows)} streams,"
          " request in to first text-delta:")
    print(f"  total {total:6.1f} ms = DynamoDB {dynamodb:6.1f} ms ({count:.0f} calls) + the OpenAI SDK to its first"
          f" part {sdk:6.1f} ms + the rest {total - dynamodb - sdk:5.1f} ms (the turn, threads, the part)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated numbers of parallel clients")
    parser.add_argument("--requests", type=int, default=1000, help="POST /chat requests per number of clients")
    parser.add_argument("--warmup", type=int, default=50, help="requests first, not counted")
    parser.add_argument("--streams", type=int, default=40, help="POST /chat/stream requests (0: none)")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"POST {PATH}, offline model, DynamoDB Local in memory")
    with process.started("--in-memory", "--timing", "--quiet", env=SERVER_ENV) as server:
        run(server.url, server.secret, max(levels), args.warmup, "warmup")
        runs = [run(server.url, server.secret, clients, args.requests, f"c{clients}") for clients in levels]
        for result in runs:
            report(result)
    if args.streams:
        one = next(r for r in runs if r.clients == min(levels))
        ok = [s for s in one.samples if s.status == 200]
        round_trip = statistics.fmean(s.timings.get("dynamodb", 0.0) / max(s.timings.get("dynamodb_calls", 1.0), 1.0)
                                      for s in ok)
        stream_figures(args.streams, round_trip)
        stream_breakdown(args.streams)


if __name__ == "__main__":
    main()
