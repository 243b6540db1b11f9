"""Every key of the single table is made here, and nowhere else."""

from __future__ import annotations

SESSION_SK = "SESSION"  # sorts after every MSG# key: one descending Query gives a session and its newest messages
MESSAGE_PREFIX = "MSG#"
TENANT_COUNTER_SK = "TENANT"
CONFIG_SK = "CONFIG"
OWNER_INDEX = "OwnerIndex"
# Powertools Idempotency keeps one partition for its records; each SK hashes tenant, user and Idempotency-Key.
IDEMPOTENCY_PK = "IDEMPOTENCY#chat"


def session_pk(session_id: str) -> str:
    return f"SESSION#{session_id}"


def message_sk(message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{message_id}"


def message_id_from_sk(sk: str) -> str:
    return sk.removeprefix(MESSAGE_PREFIX)


def owner_key(tenant_id: str, user_id: str) -> str:
    """The OwnerIndex partition: one user's sessions within one tenant."""
    return f"TENANT#{tenant_id}#USER#{user_id}"


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
