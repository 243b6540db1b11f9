"""Amazon Bedrock behind the local server, as `LLM_PROVIDER=bedrock make dev` runs it against a stand-in: the
server's botocore `bedrock-runtime` client, signed with dummy credentials, calls the loopback fake of Converse's
wire protocol (tests/fake_bedrock.py) over HTTP; POST /chat and POST /chat/stream answered, a failing model
charged nothing, and the ledger's invariant after each, read from the server's own table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fake_bedrock import FakeBedrock, Reply, Usage
from ledger_invariant import assert_invariant
from sse import DONE, SseCall, deltas, metadata_of, types

from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Tokens
from contract.local_api import Client, User, local_server, table_client

API = "/api/v1/ai"
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture(scope="module")
def served(dynamodb_local_url: str, bedrock: FakeBedrock) -> Iterator[tuple[Client, str]]:
    table = f"ai-chat-bedrock-{uuid.uuid4().hex[:8]}"
    env = {"LLM_PROVIDER": "bedrock", "LLM_MODEL": MODEL, "BEDROCK_ENDPOINT_URL": bedrock.url,
           "AWS_ACCESS_KEY_ID": "bedrock-test", "AWS_SECRET_ACCESS_KEY": "bedrock-test", "AWS_REGION": "us-east-1",
           "LLM_MAX_RETRIES": "0"}
    with local_server(dynamodb_local_url, "--quiet", table=table, env=env) as running:
        yield Client(running), table


def someone(client: Client) -> User:
    return client.as_user(f"user-{uuid.uuid4().hex[:8]}", f"bedrock-{uuid.uuid4().hex[:8]}")


def test_post_chat_is_answered_by_bedrock_through_converse_and_charged_its_usage_exactly(
        served: tuple[Client, str], bedrock: FakeBedrock) -> None:
    client, table = served
    bedrock.enqueue(Reply(text="Reset it under Settings, then Security.", usage=Usage(input=120, output=12)))
    reply = someone(client).post(f"{API}/chat", {"message": "How do I reset a password?", "session_id": None})
    assert reply.status == 200, reply.body
    assert reply.body["message"] == "Reset it under Settings, then Security."
    metadata = reply.body["metadata"]
    assert (metadata["provider"], metadata["model"], metadata["input_tokens"]) == ("bedrock", MODEL, 120)
    cents = PriceTable().cost_micros(MODEL, Tokens(input_tokens=120, output_tokens=12)) / 10_000
    assert metadata["cost_cents"] == pytest.approx(cents)
    (sent,) = bedrock.sent()[-1:]
    assert sent["messages"][-1]["content"][-1]["text"] == "How do I reset a password?"
    assert_invariant(table_client(client.server), table)


def test_the_stream_is_bedrocks_converse_stream_delta_by_delta_and_settled(
        served: tuple[Client, str], bedrock: FakeBedrock) -> None:
    client, table = served
    bedrock.enqueue(Reply(deltas=["Reset ", "it under ", "Settings."], usage=Usage(input=90, output=6)))
    with SseCall(client.server.url, f"{API}/chat/stream", {"message": "And streamed?", "session_id": None},
                 token=someone(client).token) as call:
        assert call.status == 200
        parts = call.read_to_end()
    assert types(parts)[-2:] == ["finish", DONE]
    assert deltas(parts) == "Reset it under Settings."
    metadata = metadata_of(parts)
    assert (metadata["provider"], metadata["input_tokens"], metadata["estimated"]) == ("bedrock", 90, False)
    assert_invariant(table_client(client.server), table)


def test_a_throttled_model_is_answered_with_a_retryable_error_and_charges_nothing(
        served: tuple[Client, str], bedrock: FakeBedrock) -> None:
    client, table = served
    bedrock.enqueue(*[Reply(error="ThrottlingException")] * 4)
    reply = someone(client).post(f"{API}/chat", {"message": "Anyone there?", "session_id": None})
    assert reply.status in (429, 502, 503), reply.body
    assert reply.body["code"].startswith("provider"), reply.body
    assert_invariant(table_client(client.server), table)
