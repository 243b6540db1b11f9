"""Hardening over HTTP: the local server refuses a bad price, unknown docs assets are plain 404s, and 80 ratings
of one reply in flight at once all succeed with the day's counters exact."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contract.local_api import Client, Reply
from localdev import process

pytestmark = pytest.mark.dynamodb_local

RATINGS_IN_FLIGHT = 80  # seconds on a 2-core machine, under load too


def test_the_local_server_refuses_to_start_with_a_negative_price_naming_the_variable_and_the_model() -> None:
    bad = '{"my-model": {"input": 0.5, "output": -1.5}}'
    with pytest.raises(RuntimeError) as refused, process.started("--moto", "--quiet", env={"PRICES": bad}):
        pass
    message = str(refused.value)
    assert "the local server exited with 2" in message
    assert ('Configuration error: invalid settings: PRICES: PRICES["my-model"].output must be a finite number >= 0 '
            "(USD per million tokens), not -1.5") in message
    assert "AI chat is running" not in message


def test_unknown_docs_assets_each_answer_404_naming_them_and_the_real_ones_still_load(client: Client) -> None:
    names = [f"{uuid.uuid4().hex}.js" for _ in range(300)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda name: client.call("GET", f"/docs/assets/{name}"), names))

    for name, reply in zip(names, replies, strict=True):
        assert (reply.status, reply.body) == (404, {
            "detail": f"No documentation asset is called '{name}'.", "code": "asset_not_found"})
    known = client.call("GET", "/docs/assets/redoc.standalone.js", headers={"Accept-Encoding": "identity"})
    assert known.status == 200 and len(known.raw) > 10_000


def test_80_parallel_ratings_of_one_reply_all_answer_200_and_the_day_counts_the_reply_once(client: Client) -> None:
    tenant = f"ratings-{uuid.uuid4().hex[:8]}"
    alice = client.as_user("alice", tenant)
    chat = alice.post("/api/v1/ai/chat", {"message": "How do I reset a customer password?", "session_id": None})
    assert chat.status == 200, chat.raw
    path = (f"/api/v1/ai/sessions/{chat.body['session_id']}/messages/{chat.body['metadata']['message_id']}"
            "/feedback")
    bodies = [{"rating": "up" if i % 2 else "down", "feedback": f"rating {i}"} for i in range(RATINGS_IN_FLIGHT)]
    start = threading.Barrier(RATINGS_IN_FLIGHT)

    def rate(body: dict[str, Any]) -> Reply:
        start.wait()
        return alice.post(path, body)

    with ThreadPoolExecutor(max_workers=RATINGS_IN_FLIGHT) as pool:
        replies = list(pool.map(rate, bodies))

    failed = [(r.status, r.raw[:200]) for r in replies if r.status != 200]
    assert not failed, f"{len(failed)} of {RATINGS_IN_FLIGHT} ratings failed, e.g. {failed[:3]}"
    for body, reply in zip(bodies, replies, strict=True):
        assert (reply.body["feedback"], reply.body["feedback_text"]) == (body["rating"], body["feedback"])
    history = alice.get(f"/api/v1/ai/sessions/{chat.body['session_id']}/history").body["messages"]
    last = history[-1]
    assert {"rating": last["feedback"], "feedback": last["feedback_text"]} in bodies, "one request's rating, whole"
    usage = client.as_user("admin", tenant, admin=True).get("/api/v1/ai/usage")
    assert usage.status == 200, usage.raw
    assert usage.body["message_feedback"] == {"up": int(last["feedback"] == "up"),
                                              "down": int(last["feedback"] == "down")}
