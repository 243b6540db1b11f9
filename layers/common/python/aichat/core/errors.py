"""One error tree: each error knows its HTTP status and machine code; http_api maps them in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class ConfigurationError(Exception):
    """The deployment is misconfigured (a bad setting, a model without a price); raised at start."""


class ChatError(Exception):
    """An error a client can act on; `detail` is a sentence for a person, `code` is for programs."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body a client receives."""
        return {"detail": self.detail, "code": self.code, **self.extra}


class InvalidInput(ChatError):
    status = 422
    code = "invalid_input"


class TenantMissing(ChatError):
    code = "tenant_missing"


class Unauthorized(ChatError):
    status = 401
    code = "unauthorized"


class Forbidden(ChatError):
    status = 403
    code = "forbidden"


class SessionNotFound(ChatError):
    status = 404
    code = "session_not_found"

    def __init__(self) -> None:
        # One body for "missing", "another user's" and "another tenant's", so nothing leaks.
        super().__init__("Session not found. It may have expired; start a new session.")


class MessageNotFound(ChatError):
    status = 404
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("Message not found in this session; only the assistant's replies can be rated.")


class SessionNotActive(ChatError):
    code = "session_not_active"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"This session is {status} and takes no more messages; start a new session.", status=status
        )


class SessionChanged(ChatError):
    """The session's status changed between reading it and writing to it (a person handed it back)."""

    status = 409
    code = "session_changed"

    def __init__(self) -> None:
        super().__init__("The session changed while your message was being saved (a person handed it back); "
                         "nothing was saved or charged: send it again.")


class ErasureNotFound(ChatError):
    status = 404
    code = "erasure_not_found"

    def __init__(self) -> None:
        super().__init__("No erasure with this id in your tenant; use the erasure_id DELETE /admin/users/{user_id} "
                         "answered with.")


class TurnInProgress(ChatError):
    """A turn of the session is still being answered, so the session cannot be deleted yet."""

    status = 409
    code = "turn_in_progress"

    def __init__(self) -> None:
        super().__init__("A reply in this session is still being written. Wait until it ends (or stop it), then "
                         "delete the session again.")


class EscalationTaken(ChatError):
    """The customer withdrew, or another person tried to take, an escalation that a person has already taken."""

    status = 409
    code = "escalation_taken"

    def __init__(self, taken_by_name: str | None, *, by_staff: bool = False) -> None:
        who = taken_by_name or "A person"
        if by_staff:  # another member of staff asked to take it
            super().__init__(f"{who} has already taken this conversation; it is theirs until they hand it back or "
                             "close it.", taken_by_name=taken_by_name)
            return
        super().__init__(f"{who} has already taken this conversation, so the request cannot be withdrawn; reply to "
                         "them here, or they will hand it back.", taken_by_name=taken_by_name)


class LimitExceeded(ChatError):
    """A budget refused the request before anything was spent."""

    def __init__(self, detail: str, *, limit: float | int, used: float | int) -> None:
        super().__init__(detail, limit=limit, used=used)


class DailyCostLimitExceeded(LimitExceeded):
    code = "daily_cost_limit_exceeded"


class UserDailyCostLimitExceeded(LimitExceeded):
    code = "user_daily_cost_limit_exceeded"


class SessionCostLimitExceeded(LimitExceeded):
    code = "session_cost_limit_exceeded"


class SessionMessageLimitExceeded(LimitExceeded):
    code = "session_message_limit_exceeded"


class DailySessionLimitExceeded(LimitExceeded):
    code = "daily_session_limit_exceeded"


class AgentMessageLimitExceeded(LimitExceeded):
    """Staff wrote as many messages into one session as it holds for people (aichat/table/escalations.py)."""

    code = "agent_message_limit_exceeded"


class EscalationNotDelivered(ChatError):
    status = 503
    code = "escalation_not_delivered"


class ProviderNotConfigured(ChatError):
    status = 503
    code = "provider_not_configured"


class ProviderError(ChatError):
    """The model provider failed or answered with something unreadable."""

    status = 502
    code = "provider_error"

    def __init__(self, detail: str, *, transient: bool = False, retry_after: float | None = None,
                 **extra: Any) -> None:
        super().__init__(detail, **extra)
        # Not part of the body: whether trying again (or another provider) may help, and after how long.
        self.transient = transient
        self.retry_after = retry_after


class ProviderTimeout(ChatError):
    status = 504
    code = "provider_timeout"


class StorageUnavailable(ChatError):
    """DynamoDB could not be reached, or throttled past botocore's retries."""

    status = 503
    code = "storage_unavailable"


class StorageContended(StorageUnavailable):
    """Transactions on the same items kept conflicting past the retries; nothing was written, so try again."""


class TurnNotRecorded(StorageUnavailable):
    """The model answered but the answer could not be written; the turn stays pending until it is swept."""


class RequestInProgress(ChatError):
    """A request with the same Idempotency-Key is still running."""

    status = 409
    code = "request_in_progress"

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being answered. Wait a few seconds and send "
                         "it again to get its answer.")


class IdempotencyKeyReused(ChatError):
    """An Idempotency-Key already used for a different request."""

    status = 422
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used for a different message. Use a new key for a new "
                         "message.", field="Idempotency-Key")


class ModelNotPriced(ChatError):
    """The session's model has no price (PRICES changed since the session started): no call can be budgeted."""

    status = 503
    code = "model_not_priced"


class PreconditionRequired(ChatError):
    """A write that must name the version it changes (If-Match) came without one: it could undo another's change."""

    status = 428
    code = "precondition_required"

    def __init__(self) -> None:
        super().__init__("Send the ETag of your last GET as If-Match, so a change made since is not overwritten.",
                         field="If-Match")


class PreconditionFailed(ChatError):
    """If-Match named a version that is no longer the current one: someone changed it since it was read."""

    status = 412
    code = "precondition_failed"

    def __init__(self) -> None:
        super().__init__("The configuration changed since you read it. GET it again, apply your change to what it "
                         "is now, and send that with the new ETag as If-Match.", field="If-Match")
