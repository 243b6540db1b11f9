"""DynamoDB round trips per route: each route of the API called on the local server (`--timing`, DynamoDB Local in
memory, the offline model), with the DynamoDB calls it made, how many of them were one after another (calls in
flight at once count as one round trip: an existing session's history read beside its reserve), and their time.

Prints figures and asserts nothing; tests/unit/test_round_trips.py holds the counts as tests.

    .venv/bin/python scripts/bench_round_trips.py [--repeat 5]

POST /chat/stream is not in the table: its front (aichat/api/stream_app.py) sends no Server-Timing, and its turn is
POST /chat's (the same loop, the same calls), plus a stop-flag read every STOP_CHECK_SECONDS while it streams.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Run as a script from anywhere: the repository root (for localdev) goes first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev import process
from localdev.timing import parse_header
from localdev.token import mint

API = "/api/v1/ai"


@dataclass
class Caller:
    """One user of the server on a keep-alive connection."""

    url: str
    token: str

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[Any, dict[str, float]]:
        """The route's JSON answer (it must succeed) and its Server-Timing figures."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self._connection.request(method, API + path, body=json.dumps(body) if body is not None else None,
                                 headers=headers)
        response = self._connection.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {payload!r}")
        return json.loads(payload) if payload else None, parse_header(response.getheader("server-timing") or "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="calls of each route; the figures are medians")
    args = parser.parse_args()
    env = {"DAILY_COST_LIMIT_CENTS": "100000000", "SESSION_COST_LIMIT_CENTS": "100000000",
           "MAX_MESSAGES_PER_SESSION": "1000000"}
    with process.started("--in-memory", "--timing", "--quiet", env=env) as server:
        customer = Caller(server.url, mint("rt-customer", "bench", secret=server.secret))
        staff = Caller(server.url, mint("rt-staff", "bench", roles=["support"], secret=server.secret))
        admin = Caller(server.url, mint("rt-admin", "bench", roles=["admin"], secret=server.secret))
        rows: list[tuple[str, list[dict[str, float]]]] = []

        def measure(name: str, each: Callable[[], dict[str, float]]) -> None:
            each()  # warm: the route's function loaded, its connections open
            rows.append((name, [each() for _ in range(args.repeat)]))

        def chat(session_id: str | None) -> tuple[Any, dict[str, float]]:
            return customer.call("POST", "/chat", {"message": "How do I reset a password?", "session_id": session_id})

        session_id = chat(None)[0]["session_id"]
        measure("POST /chat, a new session", lambda: chat(None)[1])
        measure("POST /chat, an existing session", lambda: chat(session_id)[1])
        measure("POST /sessions", lambda: customer.call("POST", "/sessions", {"session_type": "customer_support"})[1])
        measure("GET /sessions/my", lambda: customer.call("GET", "/sessions/my")[1])
        measure("GET /sessions/{id}/history", lambda: customer.call("GET", f"/sessions/{session_id}/history")[1])
        measure("POST /sessions/{id}/feedback",
                lambda: customer.call("POST", f"/sessions/{session_id}/feedback", {"rating": 5})[1])
        reply_id = customer.call("GET", f"/sessions/{session_id}/history")[0]["messages"][-1]["id"]
        measure("POST /sessions/{id}/messages/{id}/feedback",
                lambda: customer.call("POST", f"/sessions/{session_id}/messages/{reply_id}/feedback",
                                      {"rating": "up"})[1])
        measure("POST /sessions/{id}/stop", lambda: customer.call("POST", f"/sessions/{session_id}/stop", {})[1])
        measure("GET /usage", lambda: admin.call("GET", "/usage")[1])

        def handoff() -> dict[str, dict[str, float]]:
            """One hand-over on a fresh session, each step's figures."""
            sid = chat(None)[0]["session_id"]
            figures = {"POST /sessions/{id}/escalate":
                       customer.call("POST", f"/sessions/{sid}/escalate", {"reason": "a person"})[1]}
            figures["POST /chat, an escalated session (kept for a person)"] = chat(sid)[1]
            figures["GET /agent/sessions"] = staff.call("GET", "/agent/sessions")[1]
            figures["GET /agent/sessions/{id}/history"] = staff.call("GET", f"/agent/sessions/{sid}/history")[1]
            figures["POST /agent/sessions/{id}/take"] = staff.call("POST", f"/agent/sessions/{sid}/take", {})[1]
            figures["POST /agent/sessions/{id}/messages"] = staff.call(
                "POST", f"/agent/sessions/{sid}/messages", {"content": "Sam here."})[1]
            figures["POST /agent/sessions/{id}/release"] = staff.call(
                "POST", f"/agent/sessions/{sid}/release", {"to": "ai"})[1]
            sid = chat(None)[0]["session_id"]
            customer.call("POST", f"/sessions/{sid}/escalate", {"reason": "a person"})
            figures["POST /sessions/{id}/withdraw"] = customer.call("POST", f"/sessions/{sid}/withdraw", {})[1]
            return figures

        handoff()
        handoffs = [handoff() for _ in range(args.repeat)]
        rows += [(name, [h[name] for h in handoffs]) for name in handoffs[0]]

    print(f"DynamoDB per route, the median of {args.repeat} calls each (DynamoDB Local in memory, offline model):")
    print(f"{'route':56} {'calls':>5} {'round trips':>11} {'DynamoDB ms':>11}")
    for name, figures in rows:
        def median(key: str, figures: list[dict[str, float]] = figures) -> float:
            return statistics.median(f.get(key, 0.0) for f in figures)
        print(f"{name:56} {median('dynamodb_calls'):5.0f} {median('dynamodb_round_trips'):11.0f} "
              f"{median('dynamodb'):11.1f}")


if __name__ == "__main__":
    main()
