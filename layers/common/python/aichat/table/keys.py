"""Every key of the single table is made here, and nowhere else."""

from __future__ import annotations

import hashlib
import zlib

SESSION_SK = "SESSION"  # sorts after every MSG# key: one descending Query gives a session and its newest messages
MESSAGE_PREFIX = "MSG#"
TENANT_COUNTER_SK = "TENANT"
# The tenant was active on the day: written once per tenant-day, so DayIndex is not rewritten by every turn.
ACTIVE_SK = "ACTIVE"
CONFIG_SK = "CONFIG"
OWNER_INDEX = "OwnerIndex"
TURN_KEY_SK = "TURN"


def session_pk(session_id: str) -> str:
    return f"SESSION#{session_id}"


def message_sk(message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{message_id}"


def message_id_from_sk(sk: str) -> str:
    return sk.removeprefix(MESSAGE_PREFIX)


def owner_key(tenant_id: str, user_id: str) -> str:
    """The OwnerIndex partition: one user's sessions within one tenant."""
    return f"TENANT#{tenant_id}#USER#{user_id}"


def deleting_owner_key(tenant_id: str, user_id: str) -> str:
    """The OwnerIndex partition of one user's sessions whose delete is under way: off their list, still theirs to
    find (an erasure finishes them)."""
    return f"{owner_key(tenant_id, user_id)}#DELETING"


def owner_tickets_key(tenant_id: str, user_id: str) -> str:
    """The OwnerIndex partition of the tickets opened for one user of one tenant (ids hold no '#', so no user's
    sessions share it)."""
    return f"{owner_key(tenant_id, user_id)}#TICKETS"


def usage_pk(tenant_id: str, day: str) -> str:
    return f"USAGE#{tenant_id}#{day}"


def user_counter_sk(user_id: str) -> str:
    return f"USER#{user_id}"


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def session_id_from_pk(pk: str) -> str:
    return pk.removeprefix("SESSION#")


DAY_INDEX = "DayIndex"
ROLLUP_PREFIX = "ROLLUP#"


def day_key(day: str) -> str:
    """The DayIndex partition of one UTC day's tenant counters: which tenants were active that day."""
    return f"DAY#{day}"


def tenant_day_key(tenant_id: str, day: str) -> str:
    """The DayIndex partition of the sessions a tenant started on one UTC day."""
    return f"TENANT#{tenant_id}#DAY#{day}"


def rollup_pk(tenant_id: str) -> str:
    return f"{ROLLUP_PREFIX}{tenant_id}"


# Pending turns are found by the sweeper through DayIndex, spread over this many partitions by session id, so no
# partition takes every tenant's turns. Changing it strands the turns pending under the old shards: only grow it
# together with a sweep of the old range.
SWEEP_SHARDS = 16


def sweep_shard(session_id: str) -> str:
    """The DayIndex partition that holds a session's pending turns."""
    return f"PENDING#{zlib.crc32(session_id.encode()) % SWEEP_SHARDS:02d}"


def sweep_shards() -> list[str]:
    """Every partition the sweeper reads."""
    return [f"PENDING#{shard:02d}" for shard in range(SWEEP_SHARDS)]


def sweep_sort_key(sweep_after: int, session_id: str, message_id: str) -> str:
    """Sorts pending turns by when they may be swept (epoch seconds, fixed width), then by turn."""
    return f"{sweep_after:012d}#{session_id}#{message_id}"


def sweep_sort_bound(now: int) -> str:
    """Every sweep sort key below this belongs to a turn that may be swept at `now`."""
    return f"{now + 1:012d}"


def deleting_shard(session_id: str) -> str:
    """The DayIndex partition that holds a session being deleted until its items are gone (aichat/table/deletions.py),
    spread like the pending turns."""
    return f"DELETING#{zlib.crc32(session_id.encode()) % SWEEP_SHARDS:02d}"


def deleting_shards() -> list[str]:
    """Every partition the sweeper reads for deletions left unfinished."""
    return [f"DELETING#{shard:02d}" for shard in range(SWEEP_SHARDS)]


ERASURE_SK = "ERASURE"


def erasure_pk(erasure_id: str) -> str:
    return f"ERASURE#{erasure_id}"


def erasing_shard(erasure_id: str) -> str:
    """The DayIndex partition that holds an erasure while it runs (aichat/table/erasures.py)."""
    return f"ERASING#{zlib.crc32(erasure_id.encode()) % SWEEP_SHARDS:02d}"


def erasing_shards() -> list[str]:
    """Every partition the erasure runner reads."""
    return [f"ERASING#{shard:02d}" for shard in range(SWEEP_SHARDS)]


def turn_key_pk(tenant_id: str, user_id: str, idempotency_key: str) -> str:
    """The ledger's record of which turn an Idempotency-Key charged: hashed, so keys spread over partitions and the
    caller's key is never stored."""
    digest = hashlib.sha256("\x00".join((tenant_id, user_id, idempotency_key)).encode()).hexdigest()
    return f"TURNKEY#{digest}"


# A ticket has a partition of its own: in its session's partition it would sort after SESSION (T > S) and break the
# descending Query that reads a session and then its newest messages.
TICKET_SK = "TICKET"

# An escalated session's place in its tenant's waiting list: an item of its own (the session's OwnerIndex keys
# list it among its user's sessions), in OwnerIndex under the tenant's waiting partition, oldest escalation first.
ESCALATION_SK = "ESCALATION"


def escalation_pk(session_id: str) -> str:
    return f"ESCALATION#{session_id}"


def waiting_key(tenant_id: str) -> str:
    """The OwnerIndex partition of a tenant's escalated sessions (no user id is "ESCALATED": ids hold no '#')."""
    return f"TENANT#{tenant_id}#ESCALATED"


def waiting_sort_key(escalated_at: str, session_id: str) -> str:
    return f"{escalated_at}#{session_id}"


def ticket_pk(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def ticket_id_from_pk(pk: str) -> str:
    return pk.removeprefix("TICKET#")
