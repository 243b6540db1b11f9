import type { ErrorBody, SessionStatus } from "./api-types";

/** What went wrong, in the terms a UI decides on: whether to offer a retry, a new session, or nothing. */
export type ChatErrorKind =
  | "limit"
  | "session-closed"
  | "not-found"
  | "auth"
  | "invalid"
  | "provider"
  | "busy"
  | "throttled"
  | "network"
  | "unknown";

const FALLBACK_MESSAGES: Record<ChatErrorKind, string> = {
  limit: "A usage limit has been reached, so this message was not sent.",
  "session-closed": "This conversation is closed. Start a new conversation to keep chatting.",
  "not-found": "This conversation no longer exists. Start a new conversation.",
  auth: "You are not signed in, or your sign-in has expired. Sign in again and retry.",
  invalid: "The message could not be sent as it is. Check it and try again.",
  provider: "The assistant is not answering right now. Try again in a moment.",
  busy: "The previous message is still being answered. Try again in a few seconds.",
  throttled: "The chat service is receiving too many requests right now. Wait a few seconds and try again.",
  network: "The chat service could not be reached. Check your connection and try again.",
  unknown: "Something went wrong. Try again in a moment.",
};

function kindOf(status: number, code: string): ChatErrorKind {
  if (code.endsWith("_limit_exceeded")) return "limit";
  if (code === "session_not_active") return "session-closed";
  if (status === 0) return "network";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  if (status === 409) return "busy";
  // API Gateway's throttling (the stack's route rate and burst): its body is {"message":"Too Many Requests"}, not
  // the API's {detail, code}, and the request never reached the API, so sending it again later is safe.
  if (status === 429) return "throttled";
  if (status === 400 || status === 413 || status === 422) return "invalid";
  if (status === 502 || status === 503 || status === 504) return "provider";
  return "unknown";
}

// Typed as a record so the compiler fails here when the API's list of statuses changes.
const SESSION_STATUSES: Readonly<Record<SessionStatus, true>> = { active: true, completed: true, escalated: true, abandoned: true };

/** The error's `status` when it is a session status (the API types it as any string). */
function sessionStatusOf(value: unknown): SessionStatus | null {
  return typeof value === "string" && Object.hasOwn(SESSION_STATUSES, value) ? (value as SessionStatus) : null;
}

// A limit, a closed or missing session, invalid input or a provider nobody configured will fail the same way again.
const NOT_RETRYABLE: ReadonlySet<ChatErrorKind> = new Set(["limit", "session-closed", "not-found", "invalid"]);

/** An API error (or a failure to reach the API), with the API's `detail` as the message. */
export class ChatApiError extends Error {
  override readonly name = "ChatApiError";
  /** The HTTP status; 0 when no answer came (offline, DNS, CORS). */
  readonly status: number;
  /** The API's machine code (`daily_cost_limit_exceeded`, ...), or `network_error` / `http_<status>`. */
  readonly code: string;
  readonly kind: ChatErrorKind;
  /** Whether sending the same request again may succeed. */
  readonly retryable: boolean;
  /** For a limit: the limit and how much of it is used (cents, messages or sessions). */
  readonly limit: number | null;
  readonly used: number | null;
  /** For `session_not_active`: the session's status. */
  readonly sessionStatus: SessionStatus | null;

  constructor(status: number, body: Partial<ErrorBody> | null, options?: { cause?: unknown; kind?: ChatErrorKind }) {
    const code = typeof body?.code === "string" && body.code ? body.code : status === 0 ? "network_error" : `http_${status}`;
    const kind = options?.kind ?? kindOf(status, code);
    const detail = typeof body?.detail === "string" && body.detail.trim() ? body.detail : FALLBACK_MESSAGES[kind];
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.kind = kind;
    // A person already has the session (a withdrawal too late): asking again changes nothing.
    this.retryable = !NOT_RETRYABLE.has(kind) && code !== "provider_not_configured" && code !== "escalation_taken";
    this.limit = typeof body?.limit === "number" ? body.limit : null;
    this.used = typeof body?.used === "number" ? body.used : null;
    this.sessionStatus = sessionStatusOf(body?.status);
  }
}

/** Any thrown value as a ChatApiError, so state and UI deal with one shape. */
export function toChatError(error: unknown): ChatApiError {
  if (error instanceof ChatApiError) return error;
  return new ChatApiError(0, { code: "client_error" }, { cause: error, kind: "unknown" });
}
