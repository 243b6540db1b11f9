"""This product beside LiteLLM's proxy, in front of the same fake OpenAI upstream, in one run: interleaved rounds.

The upstream is a loopback fake of OpenAI's chat completions (TCP_NODELAY, like a provider's servers): a streamed
answer's first chunk at once, then 20 tokens 20 ms apart, then its usage; a whole answer at once. Both sides are
warmed before timing (this product's DynamoDB Local and connections, LiteLLM's own start-up). Each round times each
side in turn, so a noisy machine slows both alike; the figures are medians, and each ratio (ours / LiteLLM's) comes
with its spread over the rounds [lowest..highest]. It prints figures and asserts nothing.

- stream: the time to the first token minus the upstream's own (its request read to its first chunk sent), c=1, on
  an existing session (ours: POST /api/v1/ai/chat/stream, a budgeted turn, every message stored; LiteLLM: POST
  /v1/chat/completions with stream=true, no database, no budgets);
- whole answers: POST /api/v1/ai/chat against non-streamed /v1/chat/completions, p50 and p99 at c=1, and requests/s
  at c=1 and c=8.

LiteLLM is a dev-only tool, not a dependency: it runs from a venv of its own (--litellm, the `litellm` command), made
with `python3.11 -m venv .venv-litellm && .venv-litellm/bin/pip install "litellm[proxy]==1.108.7"`.

    .venv/bin/python scripts/bench_vs_litellm.py [--litellm .venv-litellm/bin/litellm] [--rounds 5] [--requests 40]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev import process
from localdev.token import mint

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4o-mini"
TOKENS = 20
TOKEN_GAP = 0.02
SERVER_ENV = {"DAILY_COST_LIMIT_CENTS": "100000000", "SESSION_COST_LIMIT_CENTS": "100000000",
              "MAX_MESSAGES_PER_SESSION": "1000000", "MAX_SESSIONS_PER_USER_PER_DAY": "1000000",
              "LLM_PROVIDER": "openai", "LLM_MODEL": MODEL, "OPENAI_API_KEY": "sk-bench-not-a-real-key"}
TURNS_PER_SESSION = 20  # a session's history stays a realistic size (MAX_CONTEXT_MESSAGES bounds what is sent)


# --- the upstream ------------------------------------------------------------------------------------------------


class Upstream:
    """OpenAI's chat completions on loopback; for each streamed request, when it was read and its first chunk sent."""

    def __init__(self) -> None:
        self.firsts: dict[str, float] = {}  # the request's marker -> ms from reading it to its first chunk
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as a provider's servers: no write waits for the client's ACK

            def log_message(self, *_: Any) -> None:
                return

            def do_POST(self) -> None:
                read_at = time.perf_counter()
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                marker = _marker(body)
                if body.get("stream"):
                    upstream._stream(self, read_at, marker)
                else:
                    upstream._whole(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()

    def _whole(self, handler: BaseHTTPRequestHandler) -> None:
        answer = json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": " ".join(["token"] * TOKENS)}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": TOKENS, "total_tokens": 50 + TOKENS}}).encode()
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def _stream(self, handler: BaseHTTPRequestHandler, read_at: float, marker: str) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()

        def chunk(data: dict[str, Any] | str) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            payload = f"data: {text}\n\n".encode()
            handler.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            handler.wfile.flush()

        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL}
        for i in range(TOKENS):
            chunk({**base, "choices": [{"index": 0, "delta": {"content": f"token{i} "}, "finish_reason": None}]})
            if i == 0:
                with self._lock:
                    self.firsts[marker] = (time.perf_counter() - read_at) * 1000
            time.sleep(TOKEN_GAP)
        chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        chunk({**base, "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": TOKENS,
                                                "total_tokens": 50 + TOKENS}})
        chunk("[DONE]")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


class _QuietServer(ThreadingHTTPServer):
    """A client closing its kept-alive connection is how LiteLLM's pool ends one, not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            super().handle_error(request, client_address)


def _marker(body: dict[str, Any]) -> str:
    """The request's own marker: the last user message's text, which each client makes unique."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


# --- the two sides -----------------------------------------------------------------------------------------------


class Side:
    name: str

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self._url = url
        self._headers = headers
        self._local = threading.local()

    def _post(self, path: str, body: dict[str, Any]) -> tuple[http.client.HTTPResponse, float]:
        """The response to a POST on this thread's kept-alive connection (a new one if the server closed it), and
        when the request was sent (perf_counter)."""
        data = json.dumps(body)
        for attempt in (1, 2):
            connection = getattr(self._local, "conn", None) or _connection(self._url)
            self._local.conn = connection
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=data, headers=self._headers)
                return connection.getresponse(), started
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                connection.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stream_first_token(self, marker: str) -> float:
        """ms from sending a streamed request to reading its first token."""
        raise NotImplementedError

    def whole(self, marker: str) -> float:
        """ms for one whole (not streamed) answer."""
        raise NotImplementedError


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class Ours(Side):
    name = "this product"

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    def _session(self) -> str | None:
        """This thread's session, a new one every TURNS_PER_SESSION turns (None: the next turn starts one)."""
        turns = getattr(self._local, "turns", 0)
        self._local.turns = turns + 1
        if turns % TURNS_PER_SESSION == 0:
            self._local.session = None
        return getattr(self._local, "session", None)

    def stream_first_token(self, marker: str) -> float:
        response, started = self._post("/api/v1/ai/chat/stream", {"message": marker, "session_id": self._session()})
        if response.status != 200:
            raise RuntimeError(f"stream answered {response.status}: {response.read()!r}")
        first = 0.0
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: {"):
                continue
            part = json.loads(line.removeprefix("data: "))
            if part["type"] == "start":
                self._local.session = part["messageMetadata"]["session_id"]
            if part["type"] == "text-delta" and not first:
                first = (time.perf_counter() - started) * 1000
        return first

    def whole(self, marker: str) -> float:
        response, started = self._post("/api/v1/ai/chat", {"message": marker, "session_id": self._session()})
        answer = json.loads(response.read())
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"chat answered {response.status}: {answer}")
        self._local.session = answer["session_id"]
        return elapsed


class LiteLLM(Side):
    name = "LiteLLM proxy"

    def __init__(self, url: str) -> None:
        super().__init__(url, {"Authorization": "Bearer sk-bench-master", "Content-Type": "application/json"})

    def stream_first_token(self, marker: str) -> float:
        response, started = self._post("/v1/chat/completions", {
            "model": MODEL, "stream": True, "messages": [{"role": "user", "content": marker}]})
        if response.status != 200:
            raise RuntimeError(f"LiteLLM stream answered {response.status}: {response.read()!r}")
        first = 0.0
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: {"):
                continue
            delta = (json.loads(line.removeprefix("data: ")).get("choices") or [{}])[0].get("delta") or {}
            if delta.get("content") and not first:
                first = (time.perf_counter() - started) * 1000
        return first

    def whole(self, marker: str) -> float:
        response, started = self._post("/v1/chat/completions", {
            "model": MODEL, "messages": [{"role": "user", "content": marker}]})
        answer = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"LiteLLM answered {response.status}: {answer!r}")
        return elapsed


def start_litellm(command: str, upstream: Upstream) -> tuple[subprocess.Popen[bytes], str]:
    """LiteLLM's proxy with one model routed to the upstream, no database; resolves once it answers."""
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115 - read by the child
    config.write(f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: {upstream.url}
      api_key: sk-bench-not-a-real-key
general_settings:
  master_key: sk-bench-master
litellm_settings:
  telemetry: false
""")
    config.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    child = subprocess.Popen([command, "--config", config.name, "--host", "127.0.0.1", "--port", str(port),
                              "--num_workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health/liveliness", timeout=2) as answer:
                if answer.status == 200:
                    return child, url
        except OSError:
            time.sleep(0.5)
    child.kill()
    raise RuntimeError("LiteLLM's proxy did not answer within 120 s")


# --- timing ------------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    first_token: list[float]  # ms, minus the upstream's own
    whole: list[float]  # ms, c=1
    rate_1: float  # requests/s, c=1
    rate_8: float  # requests/s, c=8


_counter = iter(range(10**9))
_counter_lock = threading.Lock()


def marker(side: Side) -> str:
    with _counter_lock:
        n = next(_counter)
    return f"How do I reset a customer password? ({side.name} #{n})"


def rate(side: Side, clients: int, requests: int) -> float:
    """Whole answers per second with `clients` in parallel, `requests` in all."""
    tickets = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if next(tickets, None) is None:
                    return
            side.whole(marker(side))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(client) for _ in range(clients)]:
            done.result()
    return requests / (time.perf_counter() - started)


def round_of(side: Side, upstream: Upstream, requests: int) -> Figures:
    firsts = []
    for _ in range(requests):
        mark = marker(side)
        first = side.stream_first_token(mark)
        firsts.append(first - upstream.firsts.pop(mark, 0.0))
    whole = [side.whole(marker(side)) for _ in range(requests)]
    return Figures(firsts, whole, rate(side, 1, requests), rate(side, 8, requests * 2))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(rounds: list[tuple[Figures, Figures]]) -> None:
    rows: list[tuple[str, Callable[[Figures], float], str]] = [
        ("stream: first token minus the upstream's, c=1, p50", lambda f: statistics.median(f.first_token), "ms"),
        ("POST /chat (whole answer) p50, c=1", lambda f: statistics.median(f.whole), "ms"),
        ("POST /chat (whole answer) p99, c=1", lambda f: percentile(f.whole, 99), "ms"),
        ("requests/s, c=1", lambda f: f.rate_1, "/s"),
        ("requests/s, c=8", lambda f: f.rate_8, "/s"),
    ]
    print(f"\n{'figure':<52} {'this product':>14} {'LiteLLM':>10} {'ratio [spread]':>22}")
    for title, pick, unit in rows:
        ours = [pick(o) for o, _ in rounds]
        theirs = [pick(t) for _, t in rounds]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True) if b]
        print(f"{title:<52} {statistics.median(ours):>10.1f} {unit:<3} {statistics.median(theirs):>6.1f} {unit:<3}"
              f" {statistics.median(ratios):>6.2f} [{min(ratios):.2f}..{max(ratios):.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--litellm", default=str(ROOT / ".venv-litellm" / "bin" / "litellm"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="per side, per round and kind")
    parser.add_argument("--warmup", type=int, default=40, help="per side, not counted")
    args = parser.parse_args()
    if not Path(args.litellm).exists():
        sys.exit(f"{args.litellm} is missing: make its venv as this script's docstring says")
    version = subprocess.run([str(Path(args.litellm).parent / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; LiteLLM {version}; "
          f"upstream: first chunk at once, then {TOKENS} tokens {TOKEN_GAP * 1000:.0f} ms apart (TCP_NODELAY)")
    upstream = Upstream()
    litellm, litellm_url = start_litellm(args.litellm, upstream)
    try:
        with process.started("--in-memory", "--quiet", env={**SERVER_ENV, "OPENAI_BASE_URL": upstream.url}) as server:
            sides: list[Side] = [Ours(server.url, mint("bench", "bench", secret=server.secret)), LiteLLM(litellm_url)]
            for side in sides:  # warm: DynamoDB Local's JIT, connections, LiteLLM's first routes
                for _ in range(args.warmup):
                    side.stream_first_token(marker(side))
                    side.whole(marker(side))
            rounds = []
            for n in range(args.rounds):
                ordered = sides if n % 2 == 0 else sides[::-1]  # who goes first alternates
                figures = {side.name: round_of(side, upstream, args.requests) for side in ordered}
                rounds.append((figures[sides[0].name], figures[sides[1].name]))
                print(f"  round {n + 1}/{args.rounds} done", flush=True)
            report(rounds)
    finally:
        litellm.terminate()
        litellm.wait(20)
        upstream.close()


if __name__ == "__main__":
    main()
