"""Many ratings of the same replies at once, on Amazon's DynamoDB Local (moto is not thread-safe, so never here)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aws_clients
import pytest
from botocore.config import Config
from conftest import REGION, FakeClock, ScriptedProvider

from aichat import wiring
from aichat.core.errors import ChatError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, MessageOut, MessageRatingRequest
from aichat.core.settings import Settings
from localdev.table import create_table

pytestmark = pytest.mark.dynamodb_local

RATINGS_PER_REPLY = 40  # 80 in flight in all: seconds on a 2-core machine, under load too
RATINGS = 2 * RATINGS_PER_REPLY
DAY = "2026-11-24"


@pytest.fixture
def services(dynamodb_local_url: str, clock: FakeClock) -> wiring.Services:
    # One connection per request in flight, as each Lambda container has its own.
    client = aws_clients.client(
        "dynamodb", region_name=REGION, endpoint_url=dynamodb_local_url, config=Config(max_pool_connections=RATINGS))
    name = f"ai-chat-{uuid.uuid4().hex[:8]}"
    create_table(client, name)
    return wiring.build(Settings(TABLE_NAME=name), dynamodb=client, providers={"offline": ScriptedProvider()},
                        clock=clock)


def feedback_counters(services: wiring.Services, tenant: str) -> tuple[int, int]:
    counters = services.usage_records.day_counters(tenant, DAY)
    return counters.get("feedback_up", 0), counters.get("feedback_down", 0)


def test_concurrent_ratings_of_the_same_replies_all_succeed_and_each_reply_counts_once_by_its_last_rating(
        services: wiring.Services) -> None:
    alice = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
    replies = [services.chat.send(alice, ChatRequest(message=f"question {i}")) for i in range(2)]
    # Each request carries its own text, so the stored reply shows whose rating committed last, whole.
    ratings = [(reply, MessageRatingRequest(rating="up" if i % 2 else "down", feedback=f"rating {i}"))
               for reply in replies for i in range(RATINGS_PER_REPLY)]
    start = threading.Barrier(len(ratings))

    def rate(job: tuple[Any, MessageRatingRequest]) -> MessageOut | ChatError | Exception:
        reply, body = job
        start.wait()
        try:
            return services.sessions.rate_message(alice, reply.session_id, reply.metadata.message_id, body)
        except Exception as e:  # any failure is a finding: count it rather than lose it in a thread
            return e

    with ThreadPoolExecutor(max_workers=len(ratings)) as pool:
        results = list(pool.map(rate, ratings))

    failures = [r for r in results if not isinstance(r, MessageOut)]
    assert not failures, f"{len(failures)} of {len(ratings)} ratings failed: {failures[:3]}"
    final = {}
    for reply in replies:
        stored = services.sessions.history(alice, reply.session_id, 10, None).messages[-1]
        sent = {body.feedback: body.rating for r, body in ratings if r is reply}
        assert stored.feedback_text in sent, "the stored rating is one request's, whole"
        assert stored.feedback == sent[stored.feedback_text]
        final[reply.metadata.message_id] = stored.feedback
    expected = (list(final.values()).count("up"), list(final.values()).count("down"))
    assert feedback_counters(services, "acme") == expected, "each reply counted once, by its current rating"
    assert services.usage.roll_up(DAY)["acme"]["message_feedback"] == dict(zip(("up", "down"), expected, strict=True))


def test_a_rating_after_a_storm_of_concurrent_ones_moves_the_count_from_the_rating_the_storm_left(
        services: wiring.Services) -> None:
    bob = Identity(user_id="bob", tenant_id="globex", roles=frozenset())
    reply = services.chat.send(bob, ChatRequest(message="hello"))
    message_id = reply.metadata.message_id
    bodies = [MessageRatingRequest(rating="up" if i % 3 else "down") for i in range(40)]
    start = threading.Barrier(len(bodies))

    def rate(body: MessageRatingRequest) -> str:
        start.wait()
        return services.sessions.rate_message(bob, reply.session_id, message_id, body).feedback or ""

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        assert set(pool.map(rate, bodies)) == {"up", "down"}
    left = services.sessions.history(bob, reply.session_id, 10, None).messages[-1].feedback
    other = "down" if left == "up" else "up"

    services.sessions.rate_message(bob, reply.session_id, message_id, MessageRatingRequest(rating=other))

    assert feedback_counters(services, "globex") == ((1, 0) if other == "up" else (0, 1))
