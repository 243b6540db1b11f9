"""Domain events on EventBridge: TicketCreated and SessionEscalated, published once per fact with the documented
detail (delivered through a rule to an SQS queue, on moto), never a user's message text, and a publish that fails
retried, then logged and counted, never failing the turn or the escalation."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import aws_clients
import pytest
from conftest import REGION, Api, FakeClock, ScriptedProvider
from fake_eventbridge import FakeEventBridge

from aichat import wiring
from aichat.core.clock import iso
from aichat.core.settings import Settings
from aichat.notify.domain_events import SOURCE, DomainEvent, DomainEvents, EventName
from localdev import environment

TICKET = "Please create a ticket: Router keeps rebooting"
PERSON = "I want to talk to a person"
SECRET = "My account number is 99-1234-77 and my router blinks red"

Published = Callable[[], list[dict[str, Any]]]
BuildApi = Callable[..., Api]


# --- what was delivered, what was logged, what was counted ----------------------------------------------------------


@pytest.fixture
def published(eventbridge: Any) -> Published:
    """Every event EventBridge delivered from source ai-chat so far, through a rule on the default bus to a queue."""
    sqs = aws_clients.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="ai-chat-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eventbridge.put_rule(Name="ai-chat", EventPattern=json.dumps({"source": [SOURCE]}))
    eventbridge.put_targets(Rule="ai-chat", Targets=[{"Id": "queue", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return list(seen)

    return read


def of_type(events: list[dict[str, Any]], name: EventName) -> list[dict[str, Any]]:
    return [e for e in events if e["detail-type"] == name.value]


def output(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The logger's JSON lines, the EMF metric records, and all of stdout, since the last call."""
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [r for r in records if "_aws" not in r], [r for r in records if "_aws" in r], out


def not_published(metrics: list[dict[str, Any]]) -> list[str]:
    """The event names of the EventsNotPublished counts, one per event."""
    found = []
    for record in metrics:
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        if [m["Name"] for m in directive["Metrics"]] == ["EventsNotPublished"]:
            assert directive["Namespace"] == "AIChat" and ["event", "service"] in [
                sorted(d) for d in directive["Dimensions"]]
            found.append(record["event"])
    return found


@pytest.fixture
def build_api(api: Api, settings: Settings, dynamodb: Any, sns: Any, provider: ScriptedProvider,
              clock: FakeClock) -> BuildApi:
    """The functions over services with these settings changed and no events client given: built as deployed."""
    def build(**changes: Any) -> Api:
        return Api(wiring.build(settings.model_copy(update=changes), dynamodb=dynamodb, sns=sns,
                                providers={"offline": provider}, clock=clock))
    return build


def throttle(failing: Callable[[int], bool]) -> Callable[[list[dict[str, Any]]], tuple[int, dict[str, Any]]]:
    """An answer failing the entries `failing` picks (by index) with ThrottlingException, accepting the others."""
    def answer(entries: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        results = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"} if failing(i)
                   else {"EventId": f"e{i}"} for i, _ in enumerate(entries)]
        return 200, {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}
    return answer


def internal_error(entries: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return 500, {"__type": "InternalException", "message": "try again"}


@pytest.fixture
def fake_bus() -> Iterator[FakeEventBridge]:
    bus = FakeEventBridge()
    yield bus
    bus.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- each fact, once, with its documented detail ---------------------------------------------------------------------


def test_a_ticket_created_in_a_chat_turn_is_published_once_with_its_owner_session_and_fields(
        api: Api, published: Published) -> None:
    reply = api.chat(TICKET)
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    (event,) = published()
    assert (event["source"], event["detail-type"]) == ("ai-chat", "TicketCreated")
    assert event["detail"] == {
        "tenant_id": "acme", "user_id": "user-1", "session_id": reply.body["session_id"],
        "ticket": {"id": call["result"]["id"], "title": "Router keeps rebooting", "priority": "normal",
                   "status": "open", "created_at": call["result"]["created_at"]}}


def test_an_escalation_by_the_api_route_is_published_once_as_by_the_user(
        api: Api, published: Published, clock: FakeClock) -> None:
    session_id = api.new_session()
    clock.advance(minutes=3)
    reply = api.invoke("escalate", {"reason": "Billing needs a person"}, session_id=session_id)
    assert reply.status == 200, reply.body
    (event,) = published()
    assert (event["source"], event["detail-type"]) == ("ai-chat", "SessionEscalated")
    assert event["detail"] == {
        "tenant_id": "acme", "user_id": "user-1", "session_id": session_id, "session_type": "customer_support",
        "reason": "Billing needs a person", "escalated_at": iso(clock()), "by": "user"}


def test_an_escalation_by_the_model_is_published_once_as_by_the_model(
        api: Api, published: Published, clock: FakeClock) -> None:
    reply = api.chat(PERSON)
    assert reply.status == 200 and reply.body["metadata"]["stopped"] == "escalated", reply.body
    (event,) = published()
    assert event["detail-type"] == "SessionEscalated"
    assert event["detail"] == {
        "tenant_id": "acme", "user_id": "user-1", "session_id": reply.body["session_id"],
        "session_type": "customer_support", "reason": PERSON, "escalated_at": iso(clock()), "by": "model"}


def test_an_escalation_whose_notification_failed_is_undone_and_never_announced(
        api: Api, published: Published, sns: Any, topic_arn: str) -> None:
    session_id = api.new_session()
    sns.delete_topic(TopicArn=topic_arn)  # the SNS publish fails: the session is reopened for the caller's retry
    reply = api.invoke("escalate", {"reason": "a person, please"}, session_id=session_id)
    assert reply.status == 503, reply.body
    assert published() == []


def test_no_event_detail_holds_the_users_message_text(api: Api, published: Published) -> None:
    session_id = api.chat(SECRET).body["session_id"]
    assert api.chat(TICKET, session_id).status == 200
    assert api.invoke("escalate", {"reason": "Billing needs a person"}, session_id=session_id).status == 200
    events = published()
    assert [e["detail-type"] for e in events] == ["TicketCreated", "SessionEscalated"]
    for event in events:
        text = json.dumps(event["detail"])
        assert SECRET not in text and TICKET not in text and "99-1234-77" not in text
        assert "message_text" not in event["detail"] and "context" not in text


def test_message_text_goes_into_a_detail_only_where_events_include_message_text_allows(
        eventbridge: Any, published: Published) -> None:
    fact = DomainEvent(EventName.SESSION_ESCALATED, {"tenant_id": "acme", "session_id": "01S"},
                       {"tenant_id": "acme", "session_id": "01S"}, message_text="hello, it is me")
    DomainEvents("default", lambda: eventbridge).publish(fact)
    DomainEvents("default", lambda: eventbridge, include_message_text=True).publish(fact)
    without, with_text = published()
    assert without["detail"] == {"tenant_id": "acme", "session_id": "01S"}
    assert with_text["detail"] == {"tenant_id": "acme", "session_id": "01S", "message_text": "hello, it is me"}
    assert Settings().EVENTS_INCLUDE_MESSAGE_TEXT is False


# --- a publish that fails ------------------------------------------------------------------------------------------


def test_an_event_bus_out_of_reach_still_escalates_then_logs_and_counts_the_event_without_its_text(
        build_api: BuildApi, sns: Any, capsys: pytest.CaptureFixture[str]) -> None:
    api = build_api(EVENTS_ENDPOINT_URL=closed_port_url())
    session_id = api.new_session()
    output(capsys)
    reply = api.invoke("escalate", {"reason": "Billing needs a person"}, session_id=session_id)
    assert reply.status == 200 and reply.body["status"] == "escalated", reply.body
    lines, metrics, out = output(capsys)
    (line,) = [r for r in lines if r["message"] == "event not published"]
    assert line["level"] == "ERROR" and line["event"] == "SessionEscalated"
    assert (line["tenant_id"], line["user_id"], line["session_id"]) == ("acme", "user-1", session_id)
    assert line["error"] == "EndpointConnectionError"
    assert "Billing needs a person" not in out, "ids only: never the detail's text"
    assert not_published(metrics) == ["SessionEscalated"]
    lost = [r for r in metrics if "EventsLost" in r]
    assert len(lost) == 1 and lost[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]], (
        "one undimensioned count, which EventsLostAlarm watches")
    history = api.invoke("get_history", session_id=session_id).body["metadata"]
    assert history["status"] == "escalated", "the escalation stands without its event"


def test_a_failing_put_events_is_retried_by_the_client_then_logged_once(
        build_api: BuildApi, fake_bus: FakeEventBridge, capsys: pytest.CaptureFixture[str]) -> None:
    api = build_api(EVENTS_ENDPOINT_URL=fake_bus.url)
    session_id = api.new_session()
    fake_bus.answers = [internal_error] * 5
    output(capsys)
    assert api.invoke("escalate", {"reason": "a person, please"}, session_id=session_id).status == 200
    assert len(fake_bus.requests) == 2, "the client's own retry; an exception is not sent again on top"
    lines, metrics, _ = output(capsys)
    (line,) = [r for r in lines if r["message"] == "event not published"]
    assert (line["event"], line["error"]) == ("SessionEscalated", "InternalException")
    assert not_published(metrics) == ["SessionEscalated"]


def test_a_ticket_turn_whose_entry_eventbridge_keeps_failing_answers_with_the_ticket_after_three_tries(
        build_api: BuildApi, fake_bus: FakeEventBridge, dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    api = build_api(EVENTS_ENDPOINT_URL=fake_bus.url)
    fake_bus.answers = [throttle(lambda i: True)] * 5
    output(capsys)
    reply = api.chat(TICKET)
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    assert call["status"] == "ok" and reply.body["message"].startswith("Ticket created")
    assert [[e["DetailType"] for e in entries] for entries in fake_bus.requests] == [["TicketCreated"]] * 3
    lines, metrics, out = output(capsys)
    (line,) = [r for r in lines if r["message"] == "event not published"]
    assert (line["event"], line["error"], line["ticket_id"]) == ("TicketCreated", "ThrottlingException",
                                                                 call["result"]["id"])
    assert line["session_id"] == reply.body["session_id"] and TICKET not in out
    assert not_published(metrics) == ["TicketCreated"]


def test_only_the_entries_eventbridge_failed_are_sent_again(
        fake_bus: FakeEventBridge, capsys: pytest.CaptureFixture[str]) -> None:
    client = aws_clients.client("events", region_name=REGION, endpoint_url=fake_bus.url)
    first, second = (DomainEvent(EventName.TICKET_CREATED, {"n": n}, {"session_id": f"01S{n}"}) for n in (1, 2))
    fake_bus.answers = [throttle(lambda i: i == 1)]
    output(capsys)
    DomainEvents("default", lambda: client, pause=lambda _: None).publish(first, second)
    assert [[json.loads(e["Detail"]) for e in entries] for entries in fake_bus.requests] == [
        [{"n": 1}, {"n": 2}], [{"n": 2}]]
    lines, metrics, _ = output(capsys)
    assert [r for r in lines if r["level"] == "ERROR"] == [] and not_published(metrics) == []


def test_a_bus_that_does_not_exist_is_logged_and_counted_not_raised(
        build_api: BuildApi, capsys: pytest.CaptureFixture[str]) -> None:
    api = build_api(EVENT_BUS_NAME="no-such-bus")
    output(capsys)
    reply = api.chat(PERSON)
    assert reply.status == 200 and reply.body["metadata"]["stopped"] == "escalated", reply.body
    lines, metrics, _ = output(capsys)
    (line,) = [r for r in lines if r["message"] == "event not published"]
    assert (line["event"], line["error"]) == ("SessionEscalated", "ResourceNotFoundException")
    assert not_published(metrics) == ["SessionEscalated"]


# --- clients built only where used; the local server logs instead ---------------------------------------------------


def test_a_function_that_never_publishes_builds_no_events_client(
        build_api: BuildApi, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = wiring.aws_client

    def recording(service: str, *args: Any, **kwargs: Any) -> Any:
        built.append(service)
        return real(service, *args, **kwargs)

    monkeypatch.setattr(wiring, "aws_client", recording)
    api = build_api()
    session_id = api.new_session()
    assert api.chat("Hello", session_id).status == 200
    for name, kwargs in {"get_history": {}, "list_sessions": {}, "submit_feedback": {"body": {"rating": 4}}}.items():
        assert api.invoke(name, session_id=session_id, **kwargs).status == 200, name
    assert "events" not in built
    assert api.invoke("escalate", {"reason": "a person"}, session_id=session_id).status == 200
    assert api.invoke("escalate", {"reason": "a person"}, session_id=api.new_session()).status == 200
    assert built.count("events") == 1, "built on the first publish, then kept for the container"


def test_with_events_disabled_each_event_is_logged_at_info_and_nothing_is_sent(
        build_api: BuildApi, published: Published, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = wiring.aws_client

    def no_events_client(service: str, *args: Any, **kwargs: Any) -> Any:
        assert service != "events", "nothing is sent, so no client is built"
        return real(service, *args, **kwargs)

    monkeypatch.setattr(wiring, "aws_client", no_events_client)
    api = build_api(EVENTS_ENABLED=False)
    output(capsys)
    reply = api.chat(TICKET)
    lines, _, out = output(capsys)
    (line,) = [r for r in lines if r["message"] == "event not sent (EVENTS_ENABLED is false)"]
    assert line["level"] == "INFO" and line["event"] == "TicketCreated"
    assert (line["ticket_id"], line["session_id"]) == (reply.body["function_calls"][0]["result"]["id"],
                                                       reply.body["session_id"])
    assert TICKET not in out
    assert published() == []


def test_the_local_server_logs_events_unless_an_events_endpoint_or_events_enabled_is_set() -> None:
    plain: dict[str, str] = {}
    environment.log_events_without_a_bus(plain)
    assert Settings.from_environ(plain).EVENTS_ENABLED is False
    stand_in = {"EVENTS_ENDPOINT_URL": "http://127.0.0.1:4010"}
    environment.log_events_without_a_bus(stand_in)
    assert Settings.from_environ(stand_in).EVENTS_ENABLED is True
    chosen = {"EVENTS_ENABLED": "true"}
    environment.log_events_without_a_bus(chosen)
    assert chosen == {"EVENTS_ENABLED": "true"}
    deployed = Settings.from_environ({})
    assert (deployed.EVENTS_ENABLED, deployed.EVENT_BUS_NAME, deployed.EVENTS_ENDPOINT_URL) == (True, "default", None)
