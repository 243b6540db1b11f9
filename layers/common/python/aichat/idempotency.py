"""POST /chat with an Idempotency-Key: a retry gets the first answer and is charged once (Powertools Idempotency).

Records live in a table of their own, keyed by the hash of (tenant, user, key): Powertools' documented layout, so
keyed chats spread over partitions and two callers' keys never meet. A record holds only the reply's ids, never its
text, so no reply is too large to remember; a repeat is answered from the stored reply. A turn that fails leaves no
record, so its retry runs again; one still running answers 409. Behind this, the ledger claims each key in the turn's
own reserve transaction, so even a record lost after the charge cannot make a retry pay twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

from aichat.errors import IdempotencyKeyReused, RequestInProgress, StorageUnavailable
from aichat.idempotency_key import checked_key
from aichat.identity import Identity
from aichat.models import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

    from aichat.chat import ChatService

# Without a Lambda context (local runs) a stuck in-progress record frees itself after the chat function's timeout.
_LOCAL_REMAINING_MILLIS = 60_000


class _Remaining:
    """Stands in for the Lambda context where there is none: how long this invocation may still run."""

    def get_remaining_time_in_millis(self) -> int:
        return _LOCAL_REMAINING_MILLIS


class _ReplyReference(BaseIdempotencySerializer):
    """Saves which reply answered (a few dozen bytes, however long it is); rebuilds the answer from the reply."""

    def __init__(self, chat: ChatService, caller: Identity) -> None:
        self._chat = chat
        self._caller = caller

    def to_dict(self, data: Any) -> dict[str, str]:
        response = cast("ChatResponse", data)
        return {"session_id": response.session_id, "message_id": response.metadata.message_id}

    def from_dict(self, data: dict[str, Any]) -> ChatResponse:
        return self._chat.replay(self._caller, str(data["session_id"]), str(data["message_id"]))


class IdempotentChat:
    """Runs a chat turn at most once per (tenant, user, Idempotency-Key)."""

    def __init__(self, chat: ChatService, dynamodb: DynamoDBClient, table_name: str, expiry_seconds: int) -> None:
        self._chat = chat
        self._expiry_seconds = expiry_seconds
        # Powertools' own layout (partition key `id`, TTL attribute `expiration`): template.yaml declares the table.
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb)

    def send(self, caller: Identity, body: ChatRequest, key: str | None, lambda_context: Any = None) -> ChatResponse:
        """Answer the message; with a key, answer a repeat of it from the first run instead of running it again."""
        remaining = _remaining_seconds(lambda_context)
        key = checked_key(key)
        if key is None:
            return self._chat.send(caller, body, remaining)
        # The whole request is hashed to check a repeat is the same request; the key part names the record.
        request = {"tenant_id": caller.tenant_id, "user_id": caller.user_id, "key": key,
                   "body": body.model_dump(mode="json")}
        run = idempotent_function(
            self._send, data_keyword_argument="request", persistence_store=self._persistence,
            output_serializer=_ReplyReference(self._chat, caller), key_prefix="chat",
            config=self._config(lambda_context),
        )
        try:
            result: ChatResponse = run(caller=caller, body=body, request=request, remaining_seconds=remaining)
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress() from None
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyPersistenceLayerError as e:
            # Its record could not be read or written; a turn that was charged is still claimed in the ledger, so
            # the retry this invites is answered from it, not charged again.
            raise StorageUnavailable("The request could not be recorded; send it again with the same "
                                     "Idempotency-Key in a moment.") from e
        return result

    def _send(self, caller: Identity, body: ChatRequest, request: dict[str, Any],
              remaining_seconds: float | None = None) -> ChatResponse:
        return self._chat.send(caller, body, remaining_seconds, idempotency_key=str(request["key"]))

    def _config(self, lambda_context: Any) -> IdempotencyConfig:
        # A config per request: it carries this invocation's remaining time, which bounds how long a crashed
        # request's in-progress record can block its retries.
        return IdempotencyConfig(
            event_key_jmespath="[tenant_id, user_id, key]", payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True, expires_after_seconds=self._expiry_seconds,
            lambda_context=cast("LambdaContext", lambda_context if lambda_context is not None else _Remaining()),
        )


def _remaining_seconds(lambda_context: Any) -> float | None:
    """How long this invocation may still run, from the Lambda context (None without one)."""
    if lambda_context is None or not hasattr(lambda_context, "get_remaining_time_in_millis"):
        return None
    return float(lambda_context.get_remaining_time_in_millis()) / 1000
