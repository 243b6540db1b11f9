import type {
  ChatRequestBody,
  ChatResponseBody,
  CreateSessionBody,
  EscalateBody,
  FunctionCall,
  HistoryBody,
  HistoryMessageBody,
  MessageRatingBody,
  SessionBody,
  SessionFeedbackBody,
} from "../api-types";
import { ChatApiError } from "../chat-error";
import type { SessionPage } from "../session-resume";
import type { ChatTransport, HistoryOptions } from "../transport";

type Method = keyof ChatTransport;

/** One call the fake was asked for: the ChatTransport method and its arguments, in the order they came. */
export interface Call {
  method: Method;
  args: unknown[];
}

/** What the model does in the next turn the fake answers: the tools it calls, its text, why the turn stopped. */
export interface ScriptedTurn {
  function_calls: FunctionCall[];
  /** The reply's text; the echo when left out ("" for a turn that ended with its tools). */
  message?: string;
  stopped?: string | null;
}

let callCount = 0;

/** A FunctionCall as the API answers it: `ok` with `result`, or `error` with `{"error": why}`. */
export function fakeCall(name: string, args: FunctionCall["arguments"], result: FunctionCall["result"],
  status: FunctionCall["status"] = "ok"): FunctionCall {
  callCount += 1;
  return { id: `call_${callCount}`, name, arguments: args, status, result };
}

/** create_ticket as it succeeds: the stored ticket is the result. */
export function ticketCall(title: string, priority = "normal"): FunctionCall {
  return fakeCall("create_ticket", { title, priority, description: null },
    { id: "T0001", title, priority, status: "open", created_at: new Date(0).toISOString() });
}

/** escalate_to_human as it succeeds. */
export function escalationCall(reason: string): FunctionCall {
  return fakeCall("escalate_to_human", { reason }, { status: "escalated" });
}

/** A session as the fake keeps it: its body (status, who has it, …) and its messages, oldest first. */
export interface StoredConversation {
  session: SessionBody;
  messages: HistoryMessageBody[];
}

/** What a person of the support team said while keeping a message from the customer: how the API words it. */
export const WITH_A_PERSON = "A person from our support team has this conversation: your message is with them, and they will reply here.";

/**
 * An in-memory stand-in for the API, behaving as README describes it: sessions, echoing replies, history pages
 * newest first (or the messages after one, oldest first), the message limit, Idempotency-Key replays, and
 * escalation: while escalated a message is kept for the person (status waiting_for_person, no reply), and the
 * support team's side is played with agentReply() and release(). Tests script failures with failNext() and hold
 * answers back with hold().
 */
export class FakeTransport implements ChatTransport {
  /** Every call, in order (callsOf() gives one method's arguments). */
  readonly calls: Call[] = [];
  /** The sessions by id; a test may change them (a message's status, the session's) as the server would. */
  readonly sessions = new Map<string, StoredConversation>();
  /** Stored messages per session before chat refuses with session_message_limit_exceeded (a chat adds 2). */
  maxMessagesPerSession = 100;
  private counter = 0;
  /** Per method, what its next calls do, in order: fail, or wait to be released. */
  private readonly steps = new Map<Method, Array<ChatApiError | Promise<void>>>();
  private readonly replays = new Map<string, ChatResponseBody>();
  private readonly turns: ScriptedTurn[] = [];

  /**
   * The next answered chat calls tools: its reply and its stored message carry the calls, and an ok
   * escalate_to_human (or `stopped: "escalated"`) escalates the session, as the API does.
   */
  toolsNext(turn: ScriptedTurn): this {
    this.turns.push(turn);
    return this;
  }

  /** The next unscripted call of `method` rejects with `error`. */
  failNext(method: Method, error: ChatApiError): this {
    this.steps.set(method, [...(this.steps.get(method) ?? []), error]);
    return this;
  }

  /** The next unscripted call of `method` waits until the returned function is called. */
  hold(method: Method): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.steps.set(method, [...(this.steps.get(method) ?? []), released]);
    return release;
  }

  /** A session with `count` stored messages (user and assistant in turn), as if from an earlier visit. */
  seed(count: number, overrides: Partial<SessionBody> = {}): string {
    const id = this.nextId("S");
    const stored: StoredConversation = { session: this.newSession(id, "customer_support", overrides), messages: [] };
    for (let i = 0; i < count; i++) {
      stored.messages.push(this.message(i % 2 === 0 ? "user" : "assistant", `message ${i + 1}`));
    }
    this.sessions.set(id, stored);
    return id;
  }

  /** The arguments of each call of `method`, in order. */
  callsOf(method: Method): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async chat(body: ChatRequestBody, options: { idempotencyKey: string }): Promise<ChatResponseBody> {
    await this.enter("chat", [body, options]);
    const replay = this.replays.get(options.idempotencyKey);
    if (replay) return replay;
    let stored: StoredConversation;
    if (body.session_id == null) {
      const id = this.nextId("S");
      stored = { session: this.newSession(id, body.session_type ?? "customer_support"), messages: [] };
      this.sessions.set(id, stored);
    } else {
      stored = this.find(body.session_id);
    }
    if (stored.session.status === "escalated") {
      const kept = this.message("user", body.message);
      stored.messages.push(kept);
      stored.session.message_count = stored.messages.length;
      return {
        session_id: stored.session.id, message: WITH_A_PERSON, role: "assistant", status: "waiting_for_person",
        function_calls: [],
        metadata: {
          tokens: 0, input_tokens: 0, output_tokens: 0, cost_cents: 0, model: "", provider: "", message_id: kept.id,
          stopped: "escalated",
        },
      };
    }
    if (stored.session.status !== "active") {
      throw new ChatApiError(400, {
        code: "session_not_active",
        detail: `This session is ${stored.session.status}; start a new session to keep chatting.`,
        status: stored.session.status,
      });
    }
    if (stored.messages.length + 2 > this.maxMessagesPerSession) {
      throw new ChatApiError(400, {
        code: "session_message_limit_exceeded",
        detail: `This conversation has reached its limit of ${this.maxMessagesPerSession} messages. Start a new one.`,
        limit: this.maxMessagesPerSession,
        used: stored.messages.length,
      });
    }
    stored.messages.push(this.message("user", body.message));
    const turn = this.turns.shift();
    const calls = turn?.function_calls ?? [];
    const answer = this.message("assistant", turn?.message ?? `Echo: ${body.message}`);
    if (turn) answer.function_calls = calls.map((call) => ({ ...call }));
    stored.messages.push(answer);
    stored.session.message_count = stored.messages.length;
    const stopped = turn?.stopped ?? null;
    if (stopped === "taken_by_person") answer.stopped = stopped;  // as the history shows such a reply
    if (stopped === "escalated" || stopped === "taken_by_person" ||
        calls.some((c) => c.name === "escalate_to_human" && c.status === "ok")) {
      stored.session.status = "escalated";
    }
    const reply: ChatResponseBody = {
      session_id: stored.session.id,
      message: answer.content,
      role: "assistant",
      status: "answered",
      function_calls: calls.map((call) => ({ ...call })),
      metadata: {
        tokens: 10, input_tokens: 6, output_tokens: 4, cost_cents: 0.01, model: "fake-1", provider: "fake",
        message_id: answer.id, ...(turn ? { stopped } : {}),
      },
    };
    this.replays.set(options.idempotencyKey, reply);
    return reply;
  }

  async createSession(body: CreateSessionBody): Promise<SessionBody> {
    await this.enter("createSession", [body]);
    const id = this.nextId("S");
    const stored: StoredConversation = { session: this.newSession(id, body.session_type ?? "customer_support"), messages: [] };
    this.sessions.set(id, stored);
    return { ...stored.session };
  }

  async history(sessionId: string, options: HistoryOptions = {}): Promise<HistoryBody> {
    await this.enter("history", [sessionId, options]);
    const stored = this.find(sessionId);
    const limit = options.limit ?? 50;
    if (options.after) {
      // Ids count up, as the API's do: "after" is every message with a greater one.
      const newer = stored.messages.filter((m) => m.id > (options.after ?? ""));
      return {
        session_id: sessionId,
        messages: newer.slice(0, limit).map((m) => ({ ...m })),
        metadata: { ...stored.session },
        next_after: newer.length > limit ? newer[limit - 1]?.id ?? null : null,
      };
    }
    const end = options.cursor ? Number(options.cursor) : stored.messages.length;
    const start = Math.max(0, end - limit);
    return {
      session_id: sessionId,
      messages: stored.messages.slice(start, end).map((m) => ({ ...m })),
      metadata: { ...stored.session },
      next_cursor: start > 0 ? String(start) : null,
    };
  }

  /** GET /sessions/my: every session kept, newest first (the last made first), `limit` a page. */
  async mySessions(options: { cursor?: string | null; limit?: number } = {}): Promise<SessionPage> {
    await this.enter("mySessions", [options]);
    const newest = [...this.sessions.values()].reverse().map((s) => ({ ...s.session }));
    const start = options.cursor ? Number(options.cursor) : 0;
    const end = start + (options.limit ?? 20);
    return { sessions: newest.slice(start, end), nextCursor: end < newest.length ? String(end) : null };
  }

  async sessionFeedback(sessionId: string, body: SessionFeedbackBody): Promise<SessionBody> {
    await this.enter("sessionFeedback", [sessionId, body]);
    const stored = this.find(sessionId);
    stored.session.user_rating = body.rating;
    stored.session.feedback = body.feedback ?? null;
    return { ...stored.session };
  }

  async rateMessage(sessionId: string, messageId: string, body: MessageRatingBody): Promise<unknown> {
    await this.enter("rateMessage", [sessionId, messageId, body]);
    const message = this.find(sessionId).messages.find((m) => m.id === messageId && m.role === "assistant");
    if (!message) throw new ChatApiError(404, { code: "message_not_found", detail: "No such reply." });
    message.feedback = body.rating;
    return { ...message };
  }

  async escalate(sessionId: string, body: EscalateBody): Promise<SessionBody> {
    await this.enter("escalate", [sessionId, body]);
    const stored = this.find(sessionId);
    stored.session.status = "escalated";
    stored.session.escalation_reason = body.reason;
    return { ...stored.session };
  }

  async withdraw(sessionId: string): Promise<SessionBody> {
    await this.enter("withdraw", [sessionId]);
    const stored = this.find(sessionId);
    if (stored.session.status !== "escalated") {
      throw new ChatApiError(400, { code: "session_not_active", detail: "No request for a person is waiting.", status: stored.session.status });
    }
    const taker = stored.session.taken_by_name;
    if (taker) {
      throw new ChatApiError(409, {
        code: "escalation_taken", taken_by_name: taker,
        detail: `${taker} is already answering this conversation; the request can no longer be cancelled.`,
      });
    }
    stored.session.status = "active";
    return { ...stored.session };
  }

  /** DELETE /sessions/{id}: the session and its messages are gone (404 session_not_found when they are already). */
  async deleteSession(sessionId: string): Promise<void> {
    await this.enter("deleteSession", [sessionId]);
    this.find(sessionId);
    this.sessions.delete(sessionId);
  }

  /** A person of the support team replies in an escalated session; the first reply takes it (a joined marker first). */
  agentReply(sessionId: string, name: string, content: string): HistoryMessageBody {
    const stored = this.find(sessionId);
    if (!stored.session.taken_by_name) {
      stored.session.taken_by_name = name;
      stored.messages.push(this.agentMessage(name, `${name} joined the conversation.`, "joined"));
    }
    const reply = this.agentMessage(name, content, null);
    stored.messages.push(reply);
    stored.session.message_count = stored.messages.length;
    return reply;
  }

  /** The person who has the session lets it go: back to the AI (active) or closed (completed), with a left marker. */
  release(sessionId: string, to: "active" | "completed"): void {
    const stored = this.find(sessionId);
    const name = stored.session.taken_by_name ?? "A person";
    const sentence = to === "active" ? `${name} handed the conversation back to the assistant.` : `${name} closed the conversation.`;
    stored.messages.push(this.agentMessage(name, sentence, "left"));
    stored.session.status = to;
    stored.session.taken_by_name = null;
  }

  private agentMessage(name: string, content: string, handoff: HistoryMessageBody["handoff"]): HistoryMessageBody {
    return { ...this.message("user", content), role: "agent", agent_name: name, handoff };
  }

  private async enter(method: Method, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    const step = this.steps.get(method)?.shift();
    if (step instanceof ChatApiError) throw step;
    if (step) await step;
  }

  private find(sessionId: string): StoredConversation {
    const stored = this.sessions.get(sessionId);
    if (!stored) throw new ChatApiError(404, { code: "session_not_found", detail: "Session not found." });
    return stored;
  }

  private nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${String(this.counter).padStart(4, "0")}`;
  }

  private message(role: "user" | "assistant", content: string): HistoryMessageBody {
    return { id: this.nextId("M"), role, content, created_at: new Date(0).toISOString(), tokens: 3, status: "ok" };
  }

  private newSession(id: string, sessionType: SessionBody["session_type"], overrides: Partial<SessionBody> = {}): SessionBody {
    return {
      id, session_type: sessionType, status: "active", provider: "fake", model: "fake-1",
      created_at: new Date(0).toISOString(), updated_at: new Date(0).toISOString(), message_count: 0,
      total_tokens: 0, total_cost: 0, user_rating: null, ...overrides,
    };
  }
}

/** localStorage's interface over a Map, one per test. */
export class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}
