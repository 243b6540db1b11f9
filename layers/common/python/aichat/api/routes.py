"""Every API route, declared once: method, path, the function (and its code folder) that answers it, the models it
takes and answers, and the errors it can answer with.

The OpenAPI document is built from this table; the template's routes, the functions' folders and their events are
tested against it (tests/unit/test_template.py), so a route added anywhere but here fails a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from aichat.core import errors, models

API_PREFIX = "/api/v1/ai"


@dataclass(frozen=True)
class Param:
    """A query or header parameter, described by a JSON schema."""

    name: str
    where: Literal["query", "header"]
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class ApiRoute:
    """One API route: who answers it, what it takes, what it answers, and which errors it can answer with."""

    method: str
    path: str
    function: str  # the template's logical id of the function that answers it
    code: str  # its code folder, functions/<code>/, and its event, events/<code>.json
    operation_id: str
    summary: str
    response: type[BaseModel] | None  # None: no body (204)
    status: int = 200
    request: type[BaseModel] | None = None
    returns_list: bool = False
    errors: tuple[type[errors.ChatError], ...] = ()
    params: tuple[Param, ...] = ()
    response_headers: Mapping[str, str] | None = None
    description: str = ""
    example: Mapping[str, Any] | None = None
    # Answers as Server-Sent Events (the AI SDK's UI message stream): an ASGI app named `app` in its code folder,
    # behind a front that streams (the Lambda Web Adapter), not the HTTP API.
    streams: bool = False


_LIMIT = {"type": "integer", "minimum": 1, "maximum": 100}
_IDEMPOTENCY_KEY = Param("Idempotency-Key", "header", {"type": "string", "pattern": "^[!-~]{1,255}$"},
                         "a retry with the same key (and body) gets the first answer and is charged once")
_CURSOR = Param("cursor", "query", {"type": "string"},
                "the next_cursor (or X-Next-Cursor) of this route's previous page, as it came; another route's is 422")
# Every route behind the authorizer can answer these: the token's claims are read by the function too, and each
# reads or writes the table.
_EVERY = (errors.Unauthorized, errors.TenantMissing, errors.StorageUnavailable)
_LIMITS = (errors.DailyCostLimitExceeded, errors.UserDailyCostLimitExceeded, errors.SessionCostLimitExceeded,
           errors.SessionMessageLimitExceeded, errors.DailySessionLimitExceeded)
_ETAG = "the stored version of the tenant's configuration: send it as If-Match to change it"
_PROVIDER = (errors.ProviderError, errors.ProviderNotConfigured, errors.ProviderTimeout)

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("POST", f"{API_PREFIX}/chat", "ChatFunction", "chat",
             "chat", "Send a message and get the assistant's reply",
             models.ChatResponse, request=models.ChatRequest,
             params=(_IDEMPOTENCY_KEY,),
             errors=(*_EVERY, errors.InvalidInput, errors.IdempotencyKeyReused, errors.RequestInProgress,
                     errors.SessionNotFound, errors.SessionNotActive, errors.SessionChanged, *_LIMITS, *_PROVIDER,
                     errors.ModelNotPriced),
             description="A null session_id starts a session. The call is refused (400, nothing spent) unless its "
                         "worst-case cost fits every budget it touches.",
             example={"message": "How do I reset a customer password?", "session_id": None,
                      "context": {"user_role": "admin"}}),
    ApiRoute("POST", f"{API_PREFIX}/sessions", "CreateSessionFunction", "create_session",
             "createSession", "Start a chat session", models.SessionOut, status=201,
             request=models.CreateSessionRequest, example={"session_type": "admin_assistant",
                                                           "context": {"department": "network_ops"}},
             errors=(*_EVERY, errors.InvalidInput, errors.DailySessionLimitExceeded)),
    ApiRoute("GET", f"{API_PREFIX}/sessions/my", "ListSessionsFunction", "list_sessions",
             "listMySessions", "The caller's sessions, newest first",
             models.SessionOut, returns_list=True,
             params=(Param("limit", "query", {**_LIMIT, "default": 20}, "sessions per page"), _CURSOR),
             response_headers={"X-Next-Cursor": "present when there are older sessions: pass it as ?cursor="},
             errors=(*_EVERY, errors.InvalidInput)),
    ApiRoute("GET", f"{API_PREFIX}/sessions/{{session_id}}/history", "GetHistoryFunction", "get_history",
             "getHistory",
             "A session's messages, oldest first, with the session", models.HistoryResponse,
             params=(Param("limit", "query", {**_LIMIT, "default": 50}, "messages per page"), _CURSOR,
                     Param("after", "query", {"type": "string", "maxLength": models.MAX_ID_LENGTH},
                           "a message id: only the messages written after it, oldest first, in one Query (to wait "
                           "for a reply cheaply); not with cursor")),
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound)),
    ApiRoute("POST", f"{API_PREFIX}/sessions/{{session_id}}/feedback", "SubmitFeedbackFunction", "submit_feedback",
             "submitFeedback",
             "Rate a session from 1 to 5; it stays open", models.SessionOut, request=models.FeedbackRequest,
             example={"rating": 5, "feedback": "Very helpful!"},
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound)),
    ApiRoute("POST", f"{API_PREFIX}/sessions/{{session_id}}/escalate", "EscalateFunction", "escalate",
             "escalate",
             "Hand the session to support staff", models.SessionOut, request=models.EscalateRequest,
             example={"reason": "Complex billing issue requiring human review"},
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound, errors.SessionNotActive,
                     errors.EscalationNotDelivered)),
    ApiRoute("POST", f"{API_PREFIX}/sessions/{{session_id}}/withdraw", "WithdrawEscalationFunction",
             "withdraw_escalation", "withdrawEscalation", "Take back a request for a person no one has taken yet",
             models.SessionOut, request=models.WithdrawRequest, example={},
             description="The session is active again and the model answers the next message; it leaves the staff's "
                         "waiting list. Once a person has replied (taken_by_name) it answers 409 escalation_taken.",
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound, errors.SessionNotActive,
                     errors.EscalationTaken)),
    ApiRoute("POST", f"{API_PREFIX}/sessions/{{session_id}}/stop", "StopReplyFunction", "stop_reply", "stopReply",
             "Stop the reply streaming in the session", models.StopResponse, request=models.StopRequest,
             example={},
             description="The streamed reply in flight ends where it is (within about STOP_CHECK_SECONDS), stored "
                         "as far as it went with `stopped` set and charged at most its reservation. The stream is "
                         "told through the table, so this works from any function or container.",
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound)),
    ApiRoute("DELETE", f"{API_PREFIX}/sessions/{{session_id}}", "DeleteSessionFunction", "delete_session",
             "deleteSession", "Delete one of your sessions and every message of it", None, status=204,
             description="Afterwards the session answers 404 everywhere and leaves the staff's waiting list; "
                         "GET /sessions/my stops listing it (an index: in AWS within about a second). While a "
                         "reply is being written it answers 409 turn_in_progress and changes nothing: wait for the "
                         "reply (or stop it) and delete again. Money spent stays counted in the day's figures; "
                         "tickets the model opened stay with the operator (docs/privacy.md).",
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound, errors.TurnInProgress)),
    ApiRoute("GET", f"{API_PREFIX}/me/export", "ExportMyDataFunction", "export_my_data",
             "exportMyData", "Everything stored of yours, page by page: sessions with their messages, then tickets",
             models.ExportPage,
             params=(Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                           "sessions per page (a page also ends at about 2 MB of text)"),
                     Param("cursor", "query", {"type": "string"},
                           "the next_cursor of the previous page, as it came")),
             description="Pages follow next_cursor until it is absent. A session too long for one page goes on in "
                         "the next under the same id (continued: true): merge its messages by id.",
             errors=(*_EVERY, errors.InvalidInput)),
    ApiRoute("POST", f"{API_PREFIX}/sessions/{{session_id}}/messages/{{message_id}}/feedback",
             "RateMessageFunction", "rate_message", "rateMessage",
             "Thumbs up or down on one assistant reply", models.MessageOut, request=models.MessageRatingRequest,
             example={"rating": "up"},
             errors=(*_EVERY, errors.InvalidInput, errors.SessionNotFound, errors.MessageNotFound)),
    ApiRoute("GET", f"{API_PREFIX}/agent/sessions", "AgentListSessionsFunction", "agent_list_sessions",
             "agentListSessions", "Staff: the tenant's sessions waiting for a person, oldest first",
             models.WaitingSessionOut, returns_list=True,
             params=(Param("status", "query", {"type": "string", "enum": ["escalated"], "default": "escalated"},
                           "which sessions: escalated (waiting for a person, or with one)"),
                     Param("limit", "query", {**_LIMIT, "default": 20}, "sessions per page"), _CURSOR),
             response_headers={"X-Next-Cursor": "present when more sessions wait: pass it as ?cursor="},
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput)),
    ApiRoute("GET", f"{API_PREFIX}/agent/sessions/{{session_id}}/history", "AgentGetHistoryFunction",
             "agent_get_history", "agentGetHistory",
             "Staff: a session of the tenant that is or was escalated, as its customer sees it", models.HistoryResponse,
             params=(Param("limit", "query", {**_LIMIT, "default": 50}, "messages per page"), _CURSOR,
                     Param("after", "query", {"type": "string", "maxLength": models.MAX_ID_LENGTH},
                           "a message id: only the messages written after it")),
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.SessionNotFound)),
    ApiRoute("POST", f"{API_PREFIX}/agent/sessions/{{session_id}}/take", "AgentTakeFunction", "agent_take",
             "agentTake", "Staff: take an escalated session without replying", models.SessionOut,
             request=models.TakeRequest, example={},
             description="As a first reply takes it: who and when (taken_by, taken_by_name), a turn still running in "
                         "it overtaken, a \"joined\" marker for the customer, AgentJoined. One taker: the same "
                         "person again gets the session unchanged, anyone else 409 escalation_taken (with "
                         "taken_by_name).",
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.SessionNotFound, errors.SessionNotActive,
                     errors.EscalationTaken, errors.AgentMessageLimitExceeded)),
    ApiRoute("POST", f"{API_PREFIX}/agent/sessions/{{session_id}}/messages", "AgentReplyFunction", "agent_reply",
             "agentReply", "Staff: reply to the customer in an escalated session", models.MessageOut, status=201,
             request=models.AgentMessageRequest,
             example={"content": "Hi, I'm Sam from support: I can see the double charge and have refunded it."},
             description="Stored with role agent and the staff member's display name; the first reply takes the "
                         "session (who, when) and announces AgentJoined. A person's messages take none of the "
                         "customer's message limit; they have their own bound per session (400 "
                         "agent_message_limit_exceeded past it), and a release is never refused for it.",
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.SessionNotFound,
                     errors.SessionNotActive, errors.AgentMessageLimitExceeded)),
    ApiRoute("POST", f"{API_PREFIX}/agent/sessions/{{session_id}}/release", "AgentReleaseFunction", "agent_release",
             "agentRelease", "Staff: hand the session back to the AI, or close it", models.SessionOut,
             request=models.ReleaseRequest, example={"to": "ai", "note": "Refund issued"},
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.SessionNotFound,
                     errors.SessionNotActive)),
    ApiRoute("DELETE", f"{API_PREFIX}/admin/users/{{user_id}}", "EraseUserFunction", "erase_user", "eraseUser",
             "Admins: erase everything of one user in your tenant, in the background", models.ErasureOut,
             status=202,
             description="Answers 202 with an erasure_id at once; a scheduled function deletes the user's sessions "
                         "(every message, rating and key claim), tickets and own day counters in bounded steps "
                         "that survive a restart, then publishes UserDataErased. The tenant's totals stay, as "
                         "numbers. A user id unknown in the tenant is accepted and erases nothing. What erasure "
                         "cannot reach is in docs/privacy.md.",
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput)),
    ApiRoute("GET", f"{API_PREFIX}/admin/erasures/{{erasure_id}}", "GetErasureFunction", "get_erasure",
             "getErasure", "Admins: how far an erasure of your tenant got", models.ErasureOut,
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.ErasureNotFound)),
    ApiRoute("GET", f"{API_PREFIX}/admin/config", "AdminGetConfigFunction", "admin_get_config",
             "adminGetConfig", "Admin: the tenant's limits, retention and session types in force, with an ETag",
             models.TenantConfigOut, response_headers={"ETag": _ETAG},
             description="The deployment's defaults with the tenant's own overrides applied. The ETag names the "
                         "stored version: send it as If-Match with a PATCH.",
             errors=(*_EVERY, errors.Forbidden)),
    ApiRoute("PATCH", f"{API_PREFIX}/admin/config", "AdminPatchConfigFunction", "admin_patch_config",
             "adminPatchConfig", "Admin: change the tenant's configuration with a JSON merge patch",
             models.TenantConfigOut, request=models.TenantConfigPatch,
             params=(Param("If-Match", "header", {"type": "string"},
                           "the ETag of your last GET (or *: whatever version is stored): 428 without it, 412 "
                           "once another change came first"),),
             response_headers={"ETag": _ETAG},
             description="RFC 7396: the fields named change, null puts the deployment's value back, fields left out "
                         "stay. In force on every container within TENANT_CONFIG_TTL_SECONDS; prompts, models, tools "
                         "and retention apply to new sessions and new writes only. Announced as TenantConfigChanged.",
             example={"max_messages_per_session": 40,
                      "session_types": {"customer_support": {"system_prompt": "You are Acme's support assistant."}}},
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput, errors.PreconditionRequired,
                     errors.PreconditionFailed)),
    ApiRoute("GET", f"{API_PREFIX}/usage", "GetUsageFunction", "get_usage",
             "getUsage", "The tenant's figures for a UTC day (admins only)",
             models.UsageResponse,
             params=(Param("date", "query", {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"},
                           "a UTC day, YYYY-MM-DD; today when empty or left out"),),
             errors=(*_EVERY, errors.Forbidden, errors.InvalidInput)),
)

# The routes that stream: not on the HTTP API (it cannot stream), and not in ROUTES, whose routes it serves.
STREAM_ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("POST", f"{API_PREFIX}/chat/stream", "ChatStreamFunction", "chat_stream",
             "chatStream", "Send a message and get the reply as it is written (AI SDK UI message stream v1)",
             models.ChatResponse, request=models.ChatRequest, streams=True, params=(_IDEMPOTENCY_KEY,),
             errors=(*_EVERY, errors.InvalidInput, errors.IdempotencyKeyReused, errors.RequestInProgress,
                     errors.SessionNotFound, errors.SessionNotActive,
                     errors.SessionChanged, *_LIMITS, errors.ProviderNotConfigured, errors.ModelNotPriced),
             description="The same body, identity and budgets as POST /chat. A refusal or invalid input is the usual "
                         "JSON error; once the first model call is reserved the answer is `text/event-stream` in "
                         "the AI SDK's UI message stream protocol v1 (`useChat` reads it): `start` (its "
                         "messageMetadata has session_id), per model call `start-step`, `text-start`/`text-delta`/"
                         "`text-end`, `tool-input-available` and `tool-output-available`/`tool-output-error`, "
                         "`finish-step`; then `message-metadata` (the metadata of POST /chat's answer, with "
                         "session_id), `finish` and `data: [DONE]`. A failure after the stream began is an `error` "
                         "part (and a transient `data-error` part with the code) before `finish`. The turn settles "
                         "before the stream ends, even if the client left; POST /sessions/{id}/stop ends it early. "
                         "A repeat with an answered turn's Idempotency-Key streams its stored answer again "
                         "(`start`, its tool calls, its text, `message-metadata`, `finish`), charged nothing more.",
             example={"message": "How do I reset a customer password?", "session_id": None}),
)
