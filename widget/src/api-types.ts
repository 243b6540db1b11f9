/** The API's bodies as the widget uses them (README "The API"; layers/common/python/aichat/models.py). */

export type SessionType = "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
export type SessionStatus = "active" | "completed" | "escalated" | "abandoned";
export type MessageRating = "up" | "down";
/** A JSON object: what `context` may be (at most 8 KB once serialised). */
export type ChatContext = Record<string, unknown>;

export interface ChatRequestBody {
  message: string;
  session_id: string | null;
  context?: ChatContext;
  session_type?: SessionType;
}

export interface ChatResponseBody {
  session_id: string;
  message: string;
  role: "assistant";
  function_calls: Record<string, unknown>[];
  metadata: {
    tokens: number;
    input_tokens: number;
    output_tokens: number;
    cost_cents: number;
    model: string;
    provider: string;
    message_id: string;
    /** The reply was cut to the length the deployment allows. */
    truncated?: boolean;
  };
}

export interface CreateSessionBody {
  session_type: SessionType;
  context?: ChatContext;
  customer_id?: string;
}

export interface SessionBody {
  id: string;
  session_type: SessionType;
  status: SessionStatus;
  provider: string;
  model: string;
  created_at: string;
  updated_at: string;
  message_count: number;
  total_tokens: number;
  total_cost: number;
  user_rating: number | null;
  feedback?: string | null;
  escalation_reason?: string | null;
  customer_id?: string | null;
  context?: ChatContext | null;
}

export interface HistoryMessageBody {
  id: string;
  role: "user" | "assistant";
  content: string;
  created_at: string;
  tokens: number;
  /** pending: its turn is being answered, or died and waits for the sweeper to mark it failed. */
  status: "ok" | "pending" | "failed";
  feedback?: MessageRating | null;
  feedback_text?: string | null;
  /** The reply was cut to the length the deployment allows. */
  truncated?: boolean;
}

export interface HistoryBody {
  session_id: string;
  messages: HistoryMessageBody[];
  metadata: SessionBody;
  next_cursor: string | null;
}

export interface SessionFeedbackBody {
  rating: number;
  feedback?: string;
}

export interface MessageFeedbackBody {
  rating: MessageRating;
  feedback?: string;
}

export interface EscalateBody {
  reason: string;
}

/** Every error the API answers: `detail` is a sentence to show, `code` is for programs. */
export interface ErrorBody {
  detail: string;
  code: string;
  field?: string | null;
  limit?: number | null;
  used?: number | null;
  status?: SessionStatus | null;
}
