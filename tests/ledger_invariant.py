"""The turn ledger's invariant over a whole table, and DynamoDB Local that can be stopped and started again.

The invariant (aichat/table/ledger/), after any fault:
- every cost counter equals the settled cost of the `ok` replies charged to it plus the `reserved_micros` of the
  user messages still `pending` charged to it. A day counter (USAGE#<tenant>#<day>, SK TENANT or USER#<user>) is
  charged by the messages of that tenant (and user) whose `day` is that day; a session by its own messages;
- a session's message_count is its `ok` user and assistant messages, plus its `failed` user messages (each keeps
  its slot), plus two slots for each `pending` user message; a person's messages (role agent) hold none of it;
- a session's agent_message_count is its messages of role agent: a person's replies and the joined/left markers.

The checker reads the table with a Scan, which only tests do, and parses the raw items itself rather than through
the product's mapping, so a mistake there cannot hide one in the ledger.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_clients
from botocore.config import Config

from localdev import dynamodb_local

Item = dict[str, Any]
REGION = "us-east-1"


# --- reading the table ------------------------------------------------------------------------------------------


def _s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def _n(item: Item, name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else 0


def _flag(item: Item, name: str) -> bool:
    value = item.get(name)
    return bool(value and value.get("BOOL"))


@dataclass(frozen=True)
class StoredMessage:
    """One message item, as stored."""

    session_id: str
    message_id: str
    tenant_id: str
    user_id: str
    role: str
    content: str
    status: str
    day: str | None
    reserved_micros: int
    charged_micros: int
    cost_micros: int
    output_tokens: int
    truncated: bool
    over_reservation: bool
    pending_keys: bool  # still carries sweep_after / GSI2PK, the sweeper's handle on it
    handoff: str | None = None  # role agent: a marker of a person joining or leaving

    @classmethod
    def of(cls, item: Item) -> StoredMessage:
        return cls(
            session_id=(_s(item, "PK") or "").removeprefix("SESSION#"),
            message_id=(_s(item, "SK") or "").removeprefix("MSG#"),
            tenant_id=_s(item, "tenant_id") or "", user_id=_s(item, "user_id") or "", role=_s(item, "role") or "",
            content=_s(item, "content") or "", status=_s(item, "status") or "", day=_s(item, "day"),
            reserved_micros=_n(item, "reserved_micros"), charged_micros=_n(item, "charged_micros"),
            cost_micros=_n(item, "cost_micros"),
            output_tokens=_n(item, "output_tokens"), truncated=_flag(item, "truncated"),
            over_reservation=_flag(item, "over_reservation"),
            pending_keys="sweep_after" in item or "GSI2PK" in item, handoff=_s(item, "handoff"),
        )


@dataclass(frozen=True)
class Snapshot:
    """The sessions, messages and day counters of a table at one moment."""

    messages: list[StoredMessage]
    sessions: dict[str, Item]  # by session id
    day_counters: dict[tuple[str, str, str], Item]  # by (tenant, day, SK)

    def of_tenant(self, tenant: str) -> list[StoredMessage]:
        return [m for m in self.messages if m.tenant_id == tenant]

    def user_messages(self, tenant: str) -> list[StoredMessage]:
        return [m for m in self.of_tenant(tenant) if m.role == "user"]

    def replies(self, tenant: str) -> list[StoredMessage]:
        return [m for m in self.of_tenant(tenant) if m.role == "assistant"]

    def pending(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.role == "user" and m.status == "pending"]

    def tenant_cost(self, tenant: str) -> int:
        """The tenant's cost counters, summed over every day it has one."""
        return sum(_n(item, "cost_micros") for (t, _, sk), item in self.day_counters.items()
                   if t == tenant and sk == "TENANT")

    def sent_message(self, tenant: str, content: str) -> StoredMessage:
        """The one user message of the tenant with this content; AssertionError naming what is there otherwise."""
        found = [m for m in self.user_messages(tenant) if m.content == content]
        assert len(found) == 1, (f"tenant {tenant}: expected one user message {content[:40]!r}, found {len(found)}; "
                                 f"stored: {[m.content[:40] for m in self.user_messages(tenant)]}")
        return found[0]


def scan(client: Any, table: str) -> list[Item]:
    """Every item of the table (strongly consistent), page by page."""
    request: Item = {"TableName": table, "ConsistentRead": True}
    found: list[Item] = []
    while True:
        page = client.scan(**request)
        found += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def snapshot(client: Any, table: str) -> Snapshot:
    """The table's sessions, messages and day counters, read now."""
    return snapshot_of(scan(client, table))


def snapshot_of(items: Iterable[Item]) -> Snapshot:
    """The sessions, messages and day counters among these items (anything else is left out)."""
    messages: list[StoredMessage] = []
    sessions: dict[str, Item] = {}
    counters: dict[tuple[str, str, str], Item] = {}
    for item in items:
        pk, sk = _s(item, "PK") or "", _s(item, "SK") or ""
        if pk.startswith("SESSION#") and sk == "SESSION":
            sessions[pk.removeprefix("SESSION#")] = item
        elif pk.startswith("SESSION#") and sk.startswith("MSG#"):
            messages.append(StoredMessage.of(item))
        elif pk.startswith("USAGE#") and (sk == "TENANT" or sk.startswith("USER#")):
            tenant, _, day = pk.removeprefix("USAGE#").rpartition("#")
            counters[(tenant, day, sk)] = item
    return Snapshot(messages=messages, sessions=sessions, day_counters=counters)


# --- the invariant ----------------------------------------------------------------------------------------------


@dataclass
class _Expected:
    cost: dict[Any, int] = field(default_factory=lambda: defaultdict(int))
    why: dict[Any, list[str]] = field(default_factory=lambda: defaultdict(list))

    def charge(self, key: Any, amount: int, message: StoredMessage, what: str) -> None:
        self.cost[key] += amount
        self.why[key].append(f"{what} {amount} ({message.session_id}/{message.message_id})")


def violations(state: Snapshot) -> list[str]:
    """Every way the table breaks the ledger's invariant, one sentence each naming the counter; [] if none."""
    expected = _Expected()
    slots: dict[str, int] = defaultdict(int)
    agents: dict[str, int] = defaultdict(int)
    problems: list[str] = []
    for m in state.messages:
        problems += _status_problems(m)
        slots[m.session_id] += _slots(m)
        agents[m.session_id] += m.role == "agent"
        amount, what = _charge(m)
        if not amount:
            continue
        if m.day is None:
            problems.append(f"session {m.session_id}: {what} {m.message_id} names no day it is charged to")
            continue
        expected.charge(("session", m.session_id), amount, m, what)
        expected.charge((m.tenant_id, m.day, "TENANT"), amount, m, what)
        expected.charge((m.tenant_id, m.day, f"USER#{m.user_id}"), amount, m, what)

    actual: dict[Any, int] = {("session", sid): _n(item, "total_cost_micros") for sid, item in state.sessions.items()}
    actual.update({key: _n(item, "cost_micros") for key, item in state.day_counters.items()})
    for key in sorted(set(actual) | set(expected.cost), key=str):
        have, want = actual.get(key, 0), expected.cost.get(key, 0)
        if have != want:
            problems.append(f"{_name(key)}: cost counter is {have}, but its messages add up to {want} "
                            f"(off by {have - want}): {', '.join(expected.why.get(key, [])) or 'no messages'}")
    for sid in sorted(set(state.sessions) | set(slots)):
        count = _n(state.sessions.get(sid, {}), "message_count")
        if count != slots.get(sid, 0):
            owner = state.sessions.get(sid, {})
            problems.append(f"session {sid} (tenant {_s(owner, 'tenant_id')}, user {_s(owner, 'user_id')}): "
                            f"message_count is {count}, but its messages hold {slots.get(sid, 0)} slots")
        written = _n(state.sessions.get(sid, {}), "agent_message_count")
        if written != agents.get(sid, 0):
            problems.append(f"session {sid}: agent_message_count is {written}, but it holds {agents.get(sid, 0)} "
                            "messages of role agent (replies and joined/left markers)")
    return problems


def _charge(m: StoredMessage) -> tuple[int, str]:
    """What a message holds on its counters: a settled reply its cost, a pending turn its reservation."""
    if m.role == "assistant" and m.status == "ok":
        return m.cost_micros, "settled reply"
    if m.role == "user" and m.status == "pending":
        return m.reserved_micros + m.charged_micros, "pending reservation (and finished tool steps)"
    if m.role == "user" and m.status == "failed" and m.charged_micros:
        return m.charged_micros, "failed turn's finished tool steps"
    return 0, ""


def _slots(m: StoredMessage) -> int:
    """The customer's message slots a message holds: a pending turn two (its reply's too), a failed one its own; a
    person's message none (it is counted apart, in agent_message_count)."""
    if m.role == "user":
        return {"ok": 1, "failed": 1, "pending": 2}.get(m.status, 0)
    if m.role == "agent":
        return 0
    return 1 if m.status == "ok" else 0


def _status_problems(m: StoredMessage) -> list[str]:
    where = f"session {m.session_id}: {m.role} message {m.message_id}"
    allowed = ("ok", "failed", "pending") if m.role == "user" else ("ok",)
    # A person's reply (role agent, the handoff) is a message like a settled reply, costing nothing.
    if m.role not in ("user", "assistant", "agent") or m.status not in allowed:
        return [f"{where} has status {m.status!r}"]
    if (m.status == "pending") != m.pending_keys:
        return [f"{where} is {m.status} but {'still' if m.pending_keys else 'no longer'} carries the sweeper's keys"]
    return []


def _name(key: tuple[str, ...]) -> str:
    if key[0] == "session":
        return f"session {key[1]}"
    tenant, day, sk = key
    if sk == "TENANT":
        return f"tenant {tenant} on {day}"
    return f"user {sk.removeprefix('USER#')} of tenant {tenant} on {day}"


def assert_invariant(client: Any, table: str) -> Snapshot:
    """The table's state, after asserting the invariant for every tenant, user and session in it."""
    state = snapshot(client, table)
    problems = violations(state)
    assert not problems, "the ledger's invariant is broken:\n  " + "\n  ".join(problems)
    return state


def assert_sent_messages_stored(state: Snapshot, tenant: str, contents: Iterable[str]) -> None:
    """Every message the test sent in this tenant is stored as a user message, exactly once."""
    for content in contents:
        state.sent_message(tenant, content)


# --- DynamoDB Local that survives its own restart ---------------------------------------------------------------


def client(endpoint: str) -> Any:
    """A DynamoDB client for DynamoDB Local: its own fake credentials (a module-scoped fixture builds it before the
    per-test environment is set), and it gives up within seconds when the server is down."""
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
    return aws_clients.client(
        "dynamodb", region_name=REGION, endpoint_url=endpoint, config=config,
        aws_access_key_id="testing", aws_secret_access_key="testing")


class RestartableDynamoDBLocal:
    """DynamoDB Local on one port, keeping its data in one folder (-dbPath, -sharedDb): stop it, start it again.

    -sharedDb: every client sees one database, whatever its access key (the local server uses `local`, the tests'
    environment `testing`).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = dynamodb_local.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._stack: contextlib.ExitStack | None = None

    def start(self) -> None:
        assert self._stack is None, "DynamoDB Local is already running"
        stack = contextlib.ExitStack()
        stack.enter_context(dynamodb_local.running(self.port, self.data_dir, timeout=60, shared_db=True))
        self._stack = stack

    def stop(self) -> None:
        """Stop the Java process (SIGTERM, as `running` stops it); the data stays in data_dir."""
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()

    @contextlib.contextmanager
    def started(self) -> Iterator[RestartableDynamoDBLocal]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
