"""What one chat turn costs in AWS beside its model, per turn kind and per memory size: prints figures.

The DynamoDB capacity is measured: each kind of turn runs on DynamoDB Local (in memory) through the layer, with
every request asking for ReturnConsumedCapacity (a botocore hook on the layer's own client), the offline model
answering at once; a turn's capacity units are what DynamoDB reports for it (a transaction's writes count double,
as DynamoDB bills them). The rest is arithmetic on AWS's list prices for us-east-1 (below, with where each comes
from) for a turn whose model takes MODEL_SECONDS, the function billed for that wait at its memory:

- Lambda, arm64: $0.0000133334 per GB-second and $0.20 per million requests (AWS Lambda pricing page).
- API Gateway: HTTP API $1.00 per million requests (POST /chat); REST API $3.50 per million (the stream's front).
- DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units.
- CloudWatch Logs ingestion: $0.50 per GB, for the turn's log lines (LOG_BYTES_PER_TURN, about what the turn's
  "turn settled" line and the request's lines come to).
- The model: gpt-4o-mini at this repository's price table, 1,000 input and 300 output tokens.

Not counted: SnapStart's cache and restore charges (per published version and per cold start, not per turn),
the free tiers, data transfer out (a reply is a few kilobytes), EventBridge (a ticket's event: $1.00 per million).

    .venv/bin/python scripts/infra_cost.py [--model-seconds 4]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))

from aichat import wiring  # noqa: E402
from aichat.core.identity import Identity  # noqa: E402
from aichat.core.models import ChatRequest  # noqa: E402
from aichat.core.pricing import PriceTable, Usage  # noqa: E402
from aichat.core.settings import Settings  # noqa: E402
from localdev import dynamodb_local  # noqa: E402
from localdev.table import create_table  # noqa: E402

LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6
REST_API_REQUEST = 3.50 / 1e6
WRITE_UNIT = 0.625 / 1e6
READ_UNIT = 0.125 / 1e6
LOG_GB = 0.50
LOG_BYTES_PER_TURN = 3_000
MEMORY_SIZES = (256, 512, 1024)
CALLER = Identity(user_id="cost-user", tenant_id="cost", roles=frozenset())


class Capacity:
    """Read and write units DynamoDB reports, summed, for every call of one client."""

    def __init__(self, client: Any) -> None:
        self.read = self.write = 0.0
        client.meta.events.register("before-parameter-build.dynamodb", self._ask)
        client.meta.events.register("after-call.dynamodb", self._add)

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _add(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        reads = model.name in ("GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            total = float(entry.get("CapacityUnits", 0.0))
            if reads:
                self.read += total
            else:
                self.write += total

    def during(self, work: Callable[[], object]) -> tuple[float, float]:
        before = (self.read, self.write)
        work()
        return self.read - before[0], self.write - before[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-seconds", type=float, default=4.0, help="how long the model takes to answer")
    args = parser.parse_args()
    with dynamodb_local.running() as endpoint:
        import botocore.session

        client = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="cost",
            aws_secret_access_key="cost")
        create_table(client, "cost")
        settings = Settings(TABLE_NAME="cost", DAILY_COST_LIMIT_CENTS=10**8, SESSION_COST_LIMIT_CENTS=10**8,
                            TENANT_CONFIG_TTL_SECONDS=3600)
        services = wiring.build(settings, dynamodb=client)
        capacity = Capacity(client)
        session_id = services.chat.send(CALLER, ChatRequest(message="Hello")).session_id
        for i in range(3):  # a session with some history, as a real one has
            services.chat.send(CALLER, ChatRequest(message=f"How do I reset a password? ({i})", session_id=session_id))

        def plain() -> None:
            services.chat.send(CALLER, ChatRequest(message="And how do I unlock an account?", session_id=session_id))

        def streamed() -> None:
            for _ in services.chat.stream(CALLER, ChatRequest(message="And my invoice?", session_id=session_id)):
                pass

        def tool() -> None:
            services.chat.send(CALLER, ChatRequest(message="Please create a ticket: the router blinks red",
                                                   session_id=session_id))

        kinds = {"POST /chat, plain": (plain, HTTP_API_REQUEST),
                 "POST /chat/stream": (streamed, REST_API_REQUEST),
                 "POST /chat, one tool call": (tool, HTTP_API_REQUEST)}
        units = {name: capacity.during(work) for name, (work, _) in kinds.items()}
    model = PriceTable().cost_micros("gpt-4o-mini", Usage(input_tokens=1000, output_tokens=300)) / 1e6
    stop_reads = args.model_seconds / settings.STOP_CHECK_SECONDS  # a stream reads its stop flag this often
    print(f"gpt-4o-mini, 1,000 input + 300 output tokens: ${model:.6f}; the model answers in "
          f"{args.model_seconds:g} s, which the function is billed for")
    print(f"{'turn':28} {'RRU':>5} {'WRU':>5} " + " ".join(f"{f'{mb} MB':>17}" for mb in MEMORY_SIZES))
    for name, (_, gateway) in kinds.items():
        read, write = units[name]
        if "stream" in name:
            read += stop_reads * 0.5  # an eventually consistent GetItem of a small item: half a unit
        fixed = gateway + LAMBDA_REQUEST + read * READ_UNIT + write * WRITE_UNIT + LOG_BYTES_PER_TURN / 1e9 * LOG_GB
        cells = []
        for mb in MEMORY_SIZES:
            infra = fixed + args.model_seconds * mb / 1024 * LAMBDA_GB_SECOND
            cells.append(f"${infra:.7f} {infra / model:5.1%}")
        print(f"{name:28} {read:5.1f} {write:5.1f} " + " ".join(f"{c:>17}" for c in cells))
    print("(each cell: the infrastructure per turn, and its share of the model's cost)")


if __name__ == "__main__":
    main()
