"""The local server (`python -m localdev`) in a child process for the whole session, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_bedrock import FakeBedrock
from fake_providers import FakeProviders

from contract.local_api import Client, local_server
from localdev import process


@pytest.fixture(scope="session")
def server(dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    with local_server(dynamodb_local_url, "--timing", "--quiet") as running:
        yield running


@pytest.fixture(scope="session")
def client(server: process.RunningServer) -> Client:
    return Client(server)


@pytest.fixture(scope="module")
def model() -> Iterator[FakeProviders]:
    """The loopback OpenAI and Anthropic a module's own server sends its model calls to (one per module)."""
    fake = FakeProviders()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeBedrock]:
    """The loopback Amazon Bedrock (Converse, ConverseStream) a module's own server calls (one per module)."""
    fake = FakeBedrock()
    yield fake
    fake.close()
