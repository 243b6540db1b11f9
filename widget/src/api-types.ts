/**
 * The API's bodies under the widget's own names. Each is a model of the Python layer (aichat/core/models.py), taken from
 * the API's OpenAPI document by api-schema.generated.ts (`npm run gen:api-types`); nothing here restates a field.
 */
import type { components } from "./api-schema.generated";

type Schemas = components["schemas"];

/** POST /chat */
export type ChatRequestBody = Schemas["ChatRequest"];
export type ChatResponseBody = Schemas["ChatResponse"];
export type ChatMetadataBody = Schemas["ChatMetadata"];
/** A tool the model called during a turn (create_ticket, escalate_to_human, …) and what came of it. */
export type FunctionCall = Schemas["FunctionCall"];
/** POST /sessions */
export type CreateSessionBody = Schemas["CreateSessionRequest"];
/** A session, as POST /sessions, GET /sessions/my, feedback and escalation answer it. */
export type SessionBody = Schemas["SessionOut"];
/** GET /sessions/{id}/history */
export type HistoryBody = Schemas["HistoryResponse"];
/** One message of a history page; its status is pending while its turn is answered (or until a dead one is swept). */
export type HistoryMessageBody = Schemas["MessageOut"];
/** POST /sessions/{id}/feedback */
export type SessionFeedbackBody = Schemas["FeedbackRequest"];
/** POST /sessions/{id}/messages/{message_id}/feedback */
export type MessageRatingBody = Schemas["MessageRatingRequest"];
/** POST /sessions/{id}/escalate */
export type EscalateBody = Schemas["EscalateRequest"];
/** POST /sessions/{id}/withdraw: `{}` */
export type WithdrawBody = Schemas["WithdrawRequest"];
/** A person's marker in the conversation: they joined it, or left it (handed it back, or closed it). */
export type HandoffMarker = NonNullable<HistoryMessageBody["handoff"]>;
/** POST /chat's answer: `answered` by the model, or kept for the person who has the session. */
export type ChatAnswerStatus = NonNullable<ChatResponseBody["status"]>;
/** POST /sessions/{id}/stop */
export type StopBody = Schemas["StopResponse"];
/** Every error the API answers: `detail` is a sentence to show, `code` is for programs. */
export type ErrorBody = Schemas["ErrorBody"];

export type SessionType = SessionBody["session_type"];
export type SessionStatus = SessionBody["status"];
export type MessageRating = MessageRatingBody["rating"];
/** A JSON object: what `context` may be (at most 8 KB once serialised). */
export type ChatContext = NonNullable<ChatRequestBody["context"]>;

/** Staff: GET /agent/sessions?status=escalated, one waiting session each. */
export type WaitingSessionBody = Schemas["WaitingSessionOut"];
/** Staff: POST /agent/sessions/{id}/messages */
export type AgentReplyBody = Schemas["AgentMessageRequest"];
/** Staff: POST /agent/sessions/{id}/release */
export type ReleaseBody = Schemas["ReleaseRequest"];
export type ReleaseTarget = ReleaseBody["to"];
