"""Failover across providers over HTTP, Bedrock on either side: the local server with Bedrock as its provider and
Anthropic as its fallback, and servers with Anthropic or OpenAI as their provider and Bedrock as their fallback, each
model the loopback fake of its own wire format (tests/fake_bedrock.py, tests/fake_providers.py) driven by the real
client (botocore's, the SDKs').

The primary is made to fail on command before the first part of its reply (throttled, a 5xx, unavailable, an
exception event or a dropped stream before any text): POST /chat and the stream are answered by the fallback and
charged exactly the fallback's usage at the fallback's price, once, and nothing for the failed attempt. Once a part
has streamed, a failure cuts the reply: neither retried nor fallen back from, though the server may retry once.
After each test the ledger's invariant is checked on the server's whole table.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fake_bedrock import FakeBedrock, Reply
from fake_bedrock import Usage as BedrockUsage
from fake_providers import Api, FakeProviders, Scripted, Usage
from ledger_invariant import Snapshot, assert_invariant, snapshot
from sse import DONE, SseCall, deltas, metadata_of, of_type, types

from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Tokens
from contract.local_api import Client, User, fake_provider_env, local_server, table_client

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
STREAM = f"{API}/chat/stream"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# Anthropic's fallback model, priced apart from Bedrock's (3.00 / 15.00 against 1.10 / 5.50): a charge at the wrong
# route's price does not pass for the right one.
ANTHROPIC_FALLBACK = "claude-sonnet-4-6"
# One retry before the fallback, so "not retried after the first part" is a choice the server had, not its settings.
RETRIES = 1
WAIT = 15.0
SIGNING = {"AWS_ACCESS_KEY_ID": "bedrock-test", "AWS_SECRET_ACCESS_KEY": "bedrock-test", "AWS_REGION": "us-east-1"}


@dataclass(frozen=True)
class Served:
    """A server, its table (client and name), and the route its fallback answers through."""

    client: Client
    db: Any
    table: str
    fallback: str  # the fallback's provider
    fallback_model: str

    def someone(self) -> tuple[User, str]:
        """A user of a tenant of their own, and that tenant."""
        tenant = f"failover-{uuid.uuid4().hex[:8]}"
        return self.client.as_user(f"user-{uuid.uuid4().hex[:8]}", tenant), tenant


@pytest.fixture(scope="module")
def bedrock_first(dynamodb_local_url: str, bedrock: FakeBedrock, model: FakeProviders) -> Iterator[Served]:
    """LLM_PROVIDER=bedrock, falling back to Anthropic."""
    table = f"ai-chat-failover-bedrock-{uuid.uuid4().hex[:6]}"
    env = {"LLM_PROVIDER": "bedrock", "LLM_MODEL": BEDROCK_MODEL, "BEDROCK_ENDPOINT_URL": bedrock.url, **SIGNING,
           "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": model.anthropic_url,
           "LLM_FALLBACK_PROVIDER": "anthropic", "LLM_FALLBACK_MODEL": ANTHROPIC_FALLBACK,
           "LLM_MAX_RETRIES": str(RETRIES)}
    with local_server(dynamodb_local_url, "--quiet", table=table, env=env) as running:
        yield Served(Client(running), table_client(running), table, "anthropic", ANTHROPIC_FALLBACK)


@pytest.fixture(scope="module", params=["anthropic", "openai"])
def bedrock_second(request: pytest.FixtureRequest, dynamodb_local_url: str, bedrock: FakeBedrock,
                   model: FakeProviders) -> Iterator[tuple[Api, Served]]:
    """LLM_PROVIDER=anthropic (or openai), falling back to Bedrock."""
    api: Api = request.param
    table = f"ai-chat-failover-{api}-{uuid.uuid4().hex[:6]}"
    env = fake_provider_env(model, api, BEDROCK_ENDPOINT_URL=bedrock.url, **SIGNING, LLM_FALLBACK_PROVIDER="bedrock",
                            LLM_FALLBACK_MODEL=BEDROCK_MODEL, LLM_MAX_RETRIES=str(RETRIES))
    with local_server(dynamodb_local_url, "--quiet", table=table, env=env) as running:
        yield api, Served(Client(running), table_client(running), table, "bedrock", BEDROCK_MODEL)


@pytest.fixture(autouse=True)
def nothing_left_queued(bedrock: FakeBedrock, model: FakeProviders) -> Iterator[None]:
    yield
    assert not bedrock._queue, "a test left a scripted Bedrock reply unused"
    assert not any(model._queues.values()), "a test left a scripted reply unused"


# --- helpers -------------------------------------------------------------------------------------------------------


def price(model_name: str, usage: Usage | BedrockUsage) -> int:
    return PriceTable().cost_micros(model_name, Tokens(input_tokens=usage.input, output_tokens=usage.output))


def settled(served: Served, tenant: str) -> Snapshot:
    """The table once the tenant's one turn is no longer pending, after asserting the ledger's invariant on it."""
    deadline = time.monotonic() + WAIT
    while any(m.status == "pending" for m in snapshot(served.db, served.table).user_messages(tenant)):
        assert time.monotonic() < deadline, f"the turn of tenant {tenant} still pending after {WAIT}s"
        time.sleep(0.05)
    return assert_invariant(served.db, served.table)


def assert_charged_once(served: Served, tenant: str, cost: int) -> None:
    """The tenant's one turn settled with one reply costing `cost`, and its counters hold exactly that: the failed
    attempt left nothing on them."""
    state = settled(served, tenant)
    assert [m.status for m in state.user_messages(tenant)] == ["ok"]
    (reply,) = state.replies(tenant)
    assert reply.cost_micros == cost
    assert state.tenant_cost(tenant) == cost


def stream(user: User, served: Served, message: str) -> list[Any]:
    with SseCall(served.client.server.url, STREAM, {"message": message, "session_id": None}, token=user.token,
                 timeout=WAIT) as call:
        assert call.status == 200
        return call.read_to_end()


def bedrock_calls(bedrock: FakeBedrock, since: int) -> int:
    return len(bedrock.requests) - since


def calls(model: FakeProviders, api: Api, since: int) -> int:
    return len(model.sent(api)) - since


# --- Bedrock first, Anthropic the fallback ---------------------------------------------------------------------------

BEFORE_ANY_BYTE = ["ThrottlingException", "InternalServerException", "ServiceUnavailableException"]


@pytest.mark.parametrize("error", BEFORE_ANY_BYTE)
def test_a_chat_bedrock_fails_after_its_retry_is_answered_by_anthropic_and_charged_only_anthropics_usage(
        error: str, bedrock_first: Served, bedrock: FakeBedrock, model: FakeProviders) -> None:
    user, tenant = bedrock_first.someone()
    asked, fallen = len(bedrock.requests), len(model.sent("anthropic"))
    bedrock.enqueue(*[Reply(error=error)] * (1 + RETRIES))
    usage = Usage(input=150, output=20)
    model.enqueue("anthropic", Scripted(text="Anthropic answers instead.", usage=usage))

    reply = user.post(f"{API}/chat", {"message": "My router blinks red", "session_id": None})

    assert reply.status == 200, reply.body
    assert reply.body["message"] == "Anthropic answers instead."
    metadata = reply.body["metadata"]
    assert (metadata["provider"], metadata["input_tokens"], metadata["output_tokens"]) == ("anthropic", 150, 20)
    cost = price(ANTHROPIC_FALLBACK, usage)
    assert metadata["cost_cents"] == pytest.approx(cost / 10_000)
    assert bedrock_calls(bedrock, asked) == 1 + RETRIES and calls(model, "anthropic", fallen) == 1
    assert model.sent("anthropic")[-1]["model"] == ANTHROPIC_FALLBACK, "the fallback is asked for its own model"
    assert_charged_once(bedrock_first, tenant, cost)


@pytest.mark.parametrize("failure", [
    Reply(error="ThrottlingException"),
    Reply(error="ServiceUnavailableException"),
    Reply(exception_event="modelStreamErrorException", fault_after=1),  # after messageStart, before any text
    Reply(deltas=["never", " sent"], fault="drop", fault_after=1),
], ids=["throttled", "unavailable", "exception-event-before-text", "dropped-before-text"])
def test_a_stream_bedrock_fails_before_its_first_part_is_anthropics_stream_charged_only_anthropics_usage(
        failure: Reply, bedrock_first: Served, bedrock: FakeBedrock, model: FakeProviders) -> None:
    user, tenant = bedrock_first.someone()
    asked, fallen = len(bedrock.requests), len(model.sent("anthropic"))
    bedrock.enqueue(*[failure] * (1 + RETRIES))
    usage = Usage(input=130, output=9)
    model.enqueue("anthropic", Scripted(deltas=["Anthropic ", "streams ", "instead."], usage=usage))

    parts = stream(user, bedrock_first, "Streamed, please")

    assert types(parts)[-2:] == ["finish", DONE] and not of_type(parts, "error")
    assert deltas(parts) == "Anthropic streams instead."
    metadata = metadata_of(parts)
    assert (metadata["provider"], metadata["input_tokens"], metadata["estimated"]) == ("anthropic", 130, False)
    assert bedrock_calls(bedrock, asked) == 1 + RETRIES and calls(model, "anthropic", fallen) == 1
    assert_charged_once(bedrock_first, tenant, price(ANTHROPIC_FALLBACK, usage))


@pytest.mark.parametrize("cut", [
    Reply(deltas=["Check ", "the ", "cable"], exception_event="modelStreamErrorException", fault_after=2),
    Reply(deltas=["Check ", "the ", "cable"], exception_event="throttlingException", fault_after=2),
    Reply(deltas=["Check ", "the ", "cable"], fault="drop", fault_after=2),
], ids=["model-stream-error", "throttled-mid-stream", "dropped-mid-stream"])
def test_bedrock_failing_after_its_first_part_cuts_the_stream_neither_retried_nor_fallen_back_from(
        cut: Reply, bedrock_first: Served, bedrock: FakeBedrock, model: FakeProviders) -> None:
    user, tenant = bedrock_first.someone()
    asked, fallen = len(bedrock.requests), len(model.sent("anthropic"))
    bedrock.enqueue(cut)  # one reply: a retry or the fallback would find the default success, and be seen

    parts = stream(user, bedrock_first, "Cut me off")

    assert deltas(parts) == "Check ", "the text that arrived is kept, and nothing is added to it"
    (data_error,) = of_type(parts, "data-error")
    assert data_error["data"]["code"] == "provider_error" and data_error["transient"] is True
    assert of_type(parts, "finish") == [{"type": "finish", "finishReason": "error"}]
    metadata = metadata_of(parts)
    assert (metadata["provider"], metadata["stopped"], metadata["estimated"]) == ("bedrock", "provider_error", True)
    assert bedrock_calls(bedrock, asked) == 1, "not retried, though a retry was allowed"
    assert calls(model, "anthropic", fallen) == 0, "not fallen back from"
    state = settled(bedrock_first, tenant)
    (sent,) = state.user_messages(tenant)
    (reply,) = state.replies(tenant)
    assert reply.content == "Check "
    assert 0 < state.tenant_cost(tenant) == reply.cost_micros <= sent.reserved_micros


def test_a_refusal_from_bedrock_is_neither_retried_nor_fallen_back_from_and_charges_nothing(
        bedrock_first: Served, bedrock: FakeBedrock, model: FakeProviders) -> None:
    user, tenant = bedrock_first.someone()
    asked, fallen = len(bedrock.requests), len(model.sent("anthropic"))
    bedrock.enqueue(Reply(error="ValidationException", message="The model refuses this request."))

    reply = user.post(f"{API}/chat", {"message": "Something Bedrock refuses", "session_id": None})

    assert reply.status == 502 and reply.body["code"] == "provider_error", reply.body
    assert bedrock_calls(bedrock, asked) == 1 and calls(model, "anthropic", fallen) == 0
    state = settled(bedrock_first, tenant)
    assert [m.status for m in state.user_messages(tenant)] == ["failed"]
    assert state.tenant_cost(tenant) == 0


# --- Anthropic or OpenAI first, Bedrock the fallback -----------------------------------------------------------------


def failing(api: Api) -> Scripted:
    """The API refusing a call before any byte of a reply: Anthropic overloaded (529), OpenAI's 503."""
    return Scripted(status=529 if api == "anthropic" else 503)


def test_a_chat_the_first_provider_fails_after_its_retry_is_answered_by_bedrock_and_charged_only_bedrocks_usage(
        bedrock_second: tuple[Api, Served], bedrock: FakeBedrock, model: FakeProviders) -> None:
    api, served = bedrock_second
    user, tenant = served.someone()
    asked, tried = len(bedrock.requests), len(model.sent(api))
    model.enqueue(api, *[failing(api)] * (1 + RETRIES))
    usage = BedrockUsage(input=110, output=14)
    bedrock.enqueue(Reply(text="Bedrock answers instead.", usage=usage))

    reply = user.post(f"{API}/chat", {"message": "Is the outage over?", "session_id": None})

    assert reply.status == 200, reply.body
    assert reply.body["message"] == "Bedrock answers instead."
    metadata = reply.body["metadata"]
    assert (metadata["provider"], metadata["model"], metadata["input_tokens"]) == ("bedrock", BEDROCK_MODEL, 110)
    cost = price(BEDROCK_MODEL, usage)
    assert metadata["cost_cents"] == pytest.approx(cost / 10_000)
    assert calls(model, api, tried) == 1 + RETRIES and bedrock_calls(bedrock, asked) == 1
    assert bedrock.requests[-1].model == BEDROCK_MODEL, "the fallback is asked for its own model"
    assert_charged_once(served, tenant, cost)


def test_a_stream_the_first_provider_fails_before_its_first_part_is_bedrocks_stream_charged_only_bedrocks_usage(
        bedrock_second: tuple[Api, Served], bedrock: FakeBedrock, model: FakeProviders) -> None:
    api, served = bedrock_second
    user, tenant = served.someone()
    asked, tried = len(bedrock.requests), len(model.sent(api))
    # Refused once, then its own error event after the stream's preamble, before any text.
    model.enqueue(api, failing(api), Scripted(deltas=["never", " sent"], fault="error", fault_after=1))
    usage = BedrockUsage(input=95, output=7)
    bedrock.enqueue(Reply(deltas=["Bedrock ", "streams ", "instead."], usage=usage))

    parts = stream(user, served, "Streamed, please")

    assert types(parts)[-2:] == ["finish", DONE] and not of_type(parts, "error")
    assert deltas(parts) == "Bedrock streams instead."
    metadata = metadata_of(parts)
    assert (metadata["provider"], metadata["input_tokens"], metadata["estimated"]) == ("bedrock", 95, False)
    assert calls(model, api, tried) == 1 + RETRIES and bedrock_calls(bedrock, asked) == 1
    assert_charged_once(served, tenant, price(BEDROCK_MODEL, usage))


def test_the_first_provider_failing_after_its_first_part_cuts_the_stream_and_bedrock_is_never_called(
        bedrock_second: tuple[Api, Served], bedrock: FakeBedrock, model: FakeProviders) -> None:
    api, served = bedrock_second
    user, tenant = served.someone()
    asked, tried = len(bedrock.requests), len(model.sent(api))
    # The preamble (OpenAI's role chunk; Anthropic's message_start, ping and text block start), one piece, then cut.
    preamble = 1 if api == "openai" else 3
    model.enqueue(api, Scripted(deltas=["Check ", "the ", "cable"], fault="truncate", fault_after=preamble + 1))

    parts = stream(user, served, "Cut me off")

    assert deltas(parts) == "Check "
    (data_error,) = of_type(parts, "data-error")
    assert data_error["data"]["code"] == "provider_error" and data_error["transient"] is True
    metadata = metadata_of(parts)
    assert (metadata["provider"], metadata["stopped"], metadata["estimated"]) == (api, "provider_error", True)
    assert calls(model, api, tried) == 1, "not retried, though a retry was allowed"
    assert bedrock_calls(bedrock, asked) == 0, "not fallen back from"
    state = settled(served, tenant)
    (sent,) = state.user_messages(tenant)
    (reply,) = state.replies(tenant)
    assert reply.content == "Check "
    assert 0 < state.tenant_cost(tenant) == reply.cost_micros <= sent.reserved_micros
