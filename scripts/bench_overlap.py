"""POST /chat on an existing session with the history read beside the reserve (the default) and without it
(OVERLAP_RESERVE_INPUT_TOKENS=0: the Query, then the reserve), two local servers side by side (offline model,
each its own DynamoDB Local in memory), in interleaved rounds: prints each side's p50 per round and the ratio of
their medians. Prints figures and asserts nothing.

    .venv/bin/python scripts/bench_overlap.py [--rounds 6] [--requests 100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev import process
from localdev.token import mint

PATH = "/api/v1/ai/chat"
LIMITS = {"DAILY_COST_LIMIT_CENTS": "100000000", "SESSION_COST_LIMIT_CENTS": "100000000",
          "MAX_MESSAGES_PER_SESSION": "1000000"}


class Chatter:
    """One user chatting on in one session over one keep-alive connection (TCP_NODELAY)."""

    def __init__(self, url: str, secret: str, user: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self._connection.connect()
        self._connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._headers = {"Authorization": f"Bearer {mint(user, 'bench', secret=secret)}",
                         "Content-Type": "application/json"}
        self._session: str | None = None

    def chat(self) -> float:
        """One POST /chat; its milliseconds."""
        body = json.dumps({"message": "How do I reset a customer password?", "session_id": self._session})
        started = time.perf_counter()
        self._connection.request("POST", PATH, body=body, headers=self._headers)
        response = self._connection.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"POST /chat answered {response.status}: {payload!r}")
        self._session = json.loads(payload)["session_id"]
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=100, help="chats per side per round")
    args = parser.parse_args()
    sides = {"overlapped": LIMITS, "read first": {**LIMITS, "OVERLAP_RESERVE_INPUT_TOKENS": "0"}}
    with process.started("--in-memory", "--quiet", env=sides["overlapped"]) as one, \
            process.started("--in-memory", "--quiet", env=sides["read first"]) as other:
        chatters = {"overlapped": Chatter(one.url, one.secret, "overlap"),
                    "read first": Chatter(other.url, other.secret, "sequential")}
        for chatter in chatters.values():  # warm: DynamoDB Local's JIT, the connections, a session with history
            for _ in range(100):
                chatter.chat()
        medians: dict[str, list[float]] = {name: [] for name in chatters}
        for round_ in range(args.rounds):
            order = list(chatters) if round_ % 2 == 0 else list(reversed(chatters))
            for name in order:
                medians[name].append(statistics.median(chatters[name].chat() for _ in range(args.requests)))
    for name, values in medians.items():
        print(f"{name:11} p50 per round: " + ", ".join(f"{v:.1f}" for v in values) + " ms")
    ratios = [o / s for o, s in zip(medians["overlapped"], medians["read first"], strict=True)]
    overall = statistics.median(medians["overlapped"]) / statistics.median(medians["read first"])
    print(f"overlapped / read first: {overall:.2f} [{min(ratios):.2f}..{max(ratios):.2f}]")


if __name__ == "__main__":
    main()
