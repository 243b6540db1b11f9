"""A local server for one provider API, its model calls going to the loopback fake: for the contract modules that
run every test against OpenAI's wire format and Anthropic's, and check the ledger after each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fake_providers import Api, FakeProviders
from ledger_invariant import assert_invariant

from contract.local_api import Client, local_server, table_client


@dataclass(frozen=True)
class Served:
    """One server and what a test needs of it: its model's API, a client, its table (client and name)."""

    api: Api
    client: Client
    db: Any
    table: str

    def call_id(self, n: int) -> str:
        """A tool call id in the form the provider's own ids take."""
        return f"{'call' if self.api == 'openai' else 'toolu'}_{n}"


@contextmanager
def served_by(api: Api, dynamodb_url: str, table: str, env: Mapping[str, str]) -> Iterator[Served]:
    """A server whose table is `table` plus the API's name, so the two APIs' servers never share one."""
    name = f"{table}-{api}"
    with local_server(dynamodb_url, "--quiet", table=name, env=env) as running:
        yield Served(api, Client(running), table_client(running), name)


def check_after_test(served: Served, model: FakeProviders) -> None:
    """What every test of such a module must leave: no scripted reply unused, and the ledger's invariant."""
    assert not model._queues[served.api], "a test left a scripted reply unused"
    assert_invariant(served.db, served.table)
