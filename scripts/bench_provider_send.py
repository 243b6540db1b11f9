"""What getting a streamed request to OpenAI costs us: the SDK's create(), the provider's own send (the SDK's client
posting the body as built, aichat/providers/openai.py), and a raw HTTP request, in interleaved rounds against the
loopback fake (tests/fake_providers.py, TCP_NODELAY), each to its first streamed event, with a conversation of 19
earlier messages. Prints medians and p90s, and each against the raw request; asserts nothing.

    .venv/bin/python scripts/bench_provider_send.py [--requests 300] [--messages 19]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "layers" / "common" / "python")]

import openai  # noqa: E402
from fake_providers import FakeProviders, Scripted  # noqa: E402

from aichat.providers.interface import CompletionRequest, Turn  # noqa: E402
from aichat.providers.openai import OpenAIProvider  # noqa: E402

MODEL = "gpt-4o-mini"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--messages", type=int, default=19)
    args = parser.parse_args()
    fake = FakeProviders()
    try:
        turns = tuple(Turn(role="user", content=f"question {i} " * 20) if i % 2 == 0 else
                      Turn(role="assistant", content="answer " * 40) for i in range(args.messages))
        request = CompletionRequest(model=MODEL, system="You are a helpful support assistant.", messages=turns,
                                    max_tokens=100, temperature=None, tools=())
        provider = OpenAIProvider("sk-bench", base_url=fake.openai_url, timeout=30, max_tokens_parameter="max_tokens")
        body: dict[str, Any] = provider._arguments(request)  # the same body the provider sends
        client = openai.OpenAI(api_key="sk-bench", base_url=fake.openai_url, max_retries=0)
        url = urlsplit(fake.openai_url)
        raw = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)

        def via_create() -> float:
            started = time.perf_counter()
            chunks = client.chat.completions.create(**body, stream=True, stream_options={"include_usage": True})
            next(iter(chunks))
            first = time.perf_counter()
            for _ in chunks:
                pass
            return (first - started) * 1000

        def via_provider() -> float:
            started = time.perf_counter()
            parts = iter(provider.stream(request))
            next(parts)
            first = time.perf_counter()
            for _ in parts:
                pass
            return (first - started) * 1000

        def via_raw() -> float:
            data = json.dumps({**body, "stream": True, "stream_options": {"include_usage": True}})
            started = time.perf_counter()
            raw.request("POST", f"{url.path.rstrip('/')}/chat/completions", body=data,
                        headers={"Authorization": "Bearer sk-bench", "Content-Type": "application/json"})
            first = 0.0
            for line in raw.getresponse():
                if not first and line.startswith(b"data: {"):
                    first = time.perf_counter()
            return (first - started) * 1000

        ways: dict[str, Callable[[], float]] = {"the SDK's create()": via_create,
                                                "the provider (SDK client, body as built)": via_provider,
                                                "a raw HTTP request": via_raw}
        times: dict[str, list[float]] = {name: [] for name in ways}
        warm = 30
        for i in range(args.requests + warm):
            for name, way in ways.items():
                fake.enqueue("openai", Scripted(deltas=["one ", "two ", "three"]))
                ms = way()
                if i >= warm:
                    times[name].append(ms)
        base = statistics.median(times["a raw HTTP request"])
        print(f"To the first streamed event, {args.messages} earlier messages, {args.requests} requests each "
              f"(interleaved, after {warm} to warm):")
        for name, values in times.items():
            p90 = sorted(values)[int(0.9 * (len(values) - 1))]
            print(f"  {name:<42} median {statistics.median(values):6.2f} ms  p90 {p90:6.2f} ms"
                  f"  {statistics.median(values) / base:5.1f}x the raw request")
    finally:
        fake.close()


if __name__ == "__main__":
    main()
