"""The conflict path, caused: DynamoDB cancels a share of transactions with `TransactionConflict` (as it does when two
transactions touch one item at once, which DynamoDB Local never does), under 50 concurrent turns of one tenant.

The wrapper answers as DynamoDB would, before the transaction reaches the table, so a conflicted transaction wrote
nothing; `aichat.table.transactions.transact` must retry it a bounded number of times and the budgets stay exact.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import FakeClock
from ledger_invariant import assert_invariant
from test_budgets_concurrent import (
    IN_FLIGHT,
    micros,
    one_chat_cost,
    run_concurrently,
    services_for,
    slow_provider,
    tenant_counter,
)

from aichat.core.errors import StorageContended
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.pricing import MICROS_PER_CENT
from aichat.table import transactions

pytestmark = pytest.mark.dynamodb_local


class ConflictingTable:
    """A DynamoDB client whose transactions are cancelled for a conflict on their first tries: the n-th distinct
    transaction conflicts `pattern[n % len(pattern)]` times, then reaches the table. Everything else passes through."""

    def __init__(self, client: Any, pattern: list[int]) -> None:
        self._client = client
        self._pattern = pattern
        self._lock = threading.Lock()
        self._planned: dict[int, int] = {}  # id of a transaction's item list -> conflicts still to answer
        self._seen: list[Any] = []  # each transaction's item list, kept alive so that no other list takes its id
        self.tries: Counter[int] = Counter()  # id of a transaction's item list -> how often it was sent
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        key = id(request["TransactItems"])  # the same list on each retry of one transaction
        with self._lock:
            if key not in self._planned:
                self._seen.append(request["TransactItems"])
                self._planned[key] = self._pattern[len(self._planned) % len(self._pattern)]
            self.tries[key] += 1
            conflict = self._planned[key] > 0
            if conflict:
                self._planned[key] -= 1
                self.conflicts += 1
        if conflict:
            reasons = [{"Code": "None"} for _ in request["TransactItems"]]
            reasons[-1] = {"Code": "TransactionConflict",
                           "Message": "Transaction is ongoing for the item"}
            raise ClientError({"Error": {"Code": "TransactionCanceledException",
                                         "Message": "Transaction cancelled, please refer cancellation reasons"},
                               "CancellationReasons": reasons}, "TransactWriteItems")
        return self._client.transact_write_items(**request)


def test_fifty_turns_of_one_tenant_with_conflicting_transactions_retry_a_bounded_number_of_times_and_charge_exactly(
        table: tuple[Any, str], clock: FakeClock) -> None:
    client, name = table
    limit_micros = 20 * one_chat_cost(table, clock)
    conflicting = ConflictingTable(client, pattern=[0, 1, 3, 0, 2])
    services = services_for((conflicting, name), slow_provider(), clock,
                            DAILY_COST_LIMIT_CENTS=Decimal(limit_micros) / MICROS_PER_CENT)
    tenant = f"hot-{uuid.uuid4().hex[:8]}"
    users = [Identity(user_id=f"user-{i:02d}", tenant_id=tenant, roles=frozenset()) for i in range(IN_FLIGHT)]

    ok, refused = run_concurrently([lambda u=u, i=i: services.chat.send(u, ChatRequest(message=f"question {i:02d}"))
                                    for i, u in enumerate(users)])

    assert conflicting.conflicts > 0, "the conflict path ran"
    assert max(conflicting.tries.values()) == 4, "a transaction is retried until it goes through: 3 conflicts, then"
    assert max(conflicting.tries.values()) <= transactions._CONFLICT_ATTEMPTS
    assert ok and len(ok) + len(refused) == IN_FLIGHT
    assert {e.body()["code"] for e in refused} <= {"daily_cost_limit_exceeded"}, "only the budget refused a turn"
    spent = tenant_counter((client, name), tenant)["cost_micros"]
    assert spent <= limit_micros
    assert spent == sum(micros(r) for r in ok), "each settled turn charged once, whatever was retried"
    assert_invariant(client, name)


def test_a_transaction_that_conflicts_on_every_try_is_given_up_after_the_bound_and_the_turn_charges_nothing(
        table: tuple[Any, str], clock: FakeClock) -> None:
    client, name = table
    conflicting = ConflictingTable(client, pattern=[transactions._CONFLICT_ATTEMPTS])
    services = services_for((conflicting, name), slow_provider(), clock)
    alice = Identity(user_id="alice", tenant_id=f"stuck-{uuid.uuid4().hex[:8]}", roles=frozenset())

    with pytest.raises(StorageContended) as refused:
        services.chat.send(alice, ChatRequest(message="hello"))

    # A 503 to try again, not a fault of ours; the conflict it gave up on is kept as its cause.
    assert refused.value.body()["code"] == "storage_unavailable"
    assert isinstance(refused.value.__cause__, ClientError)
    assert refused.value.__cause__.response["Error"]["Code"] == "TransactionCanceledException"
    assert list(conflicting.tries.values()) == [transactions._CONFLICT_ATTEMPTS], "tried exactly the bound, no more"
    assert tenant_counter((client, name), alice.tenant_id).get("cost_micros", 0) == 0
    assert services.store.sessions_of(alice, 10, None)[0] == [], "nothing was written"
    assert_invariant(client, name)
