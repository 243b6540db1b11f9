"""Telling support staff about an escalation: one SNS message per escalated session."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aichat.core.identity import Identity
from aichat.core.records import SessionRecord

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class EscalationNotifier:
    """Publishes to the escalation topic; the SNS client is built on first use, only by the function that needs it."""

    def __init__(self, topic_arn: str | None, client_factory: Callable[[], SNSClient]) -> None:
        self._topic_arn = topic_arn
        self._client_factory = client_factory
        self._client: SNSClient | None = None

    def escalated(self, session: SessionRecord, caller: Identity) -> None:
        """Publish one message naming the tenant, the session, the user and the reason."""
        if not self._topic_arn:
            return
        if self._client is None:
            self._client = self._client_factory()
        message = {
            "event": "session_escalated", "tenant_id": caller.tenant_id, "session_id": session.id,
            "user_id": caller.user_id, "reason": session.escalation_reason, "session_type": session.session_type,
            "customer_id": session.customer_id, "escalated_at": session.updated_at,
        }
        self._client.publish(
            TopicArn=self._topic_arn, Subject=f"AI chat escalated: {session.session_type}"[:100],
            Message=json.dumps(message),
            MessageAttributes={"tenant_id": {"DataType": "String", "StringValue": caller.tenant_id}},
        )
