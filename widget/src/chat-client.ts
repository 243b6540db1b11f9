import type {
  ChatContext,
  ChatResponseBody,
  FunctionCall,
  HistoryMessageBody,
  MessageRating,
  SessionBody,
  SessionStatus,
  SessionType,
} from "./api-types";
import { ChatApiError, toChatError } from "./chat-error";
import type { ChatTransport } from "./transport";

/**
 * What the client is doing: `loading` history, `submitted` (a reply is pending), `ready`, or `error` (the last
 * action failed; `error` says why). Whether the session still takes messages is `sessionStatus`, a separate thing.
 */
export type ChatStatus = "loading" | "ready" | "submitted" | "error";

/** The action an error came from, so a UI can word it and knows what retry() will do. */
export type ChatAction = "send" | "load" | "older" | "feedback" | "rate" | "escalate";

export interface ChatMessage {
  /** The API's message id, or a local one for a user message (the API names only the reply). */
  id: string;
  role: "user" | "assistant";
  content: string;
  /** ISO 8601. */
  createdAt: string;
  /** `pending` until its reply arrives; `failed` when it was not answered (retry() sends it again). */
  status: "sent" | "pending" | "failed";
  /** A reply's up/down rating. */
  rating: MessageRating | null;
  /** Why a failed message failed, when this client saw it fail. */
  error: ChatApiError | null;
  /** A reply's tool calls (a ticket created, a hand-over to a person, …), in the order the model made them. */
  functionCalls: readonly FunctionCall[];
}

export interface ChatState {
  sessionId: string | null;
  sessionType: SessionType;
  /** null until the session exists; `escalated`, `completed` and `abandoned` take no more messages. */
  sessionStatus: SessionStatus | null;
  status: ChatStatus;
  /** Oldest first. */
  messages: readonly ChatMessage[];
  error: ChatApiError | null;
  failedAction: ChatAction | null;
  /** Whether earlier messages than the first one shown exist (loadOlder() fetches them). */
  hasOlder: boolean;
  /** Whether the stored session's history has been fetched (or there was none to fetch). */
  historyLoaded: boolean;
  /** The 1-5 rating given to this session, if any. */
  sessionRating: number | null;
}

/** The part of the Web Storage API the client uses; localStorage by default. */
export type SessionStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export interface ChatClientOptions {
  transport: ChatTransport;
  sessionType?: SessionType;
  /** Sent with every message (merged under a message's own context). */
  context?: ChatContext;
  /** Where the session id is kept across page loads; null keeps it in memory only. */
  storage?: SessionStorage | null;
  /** Defaults to `ai-chat:session:<sessionType>`, so each session type resumes its own conversation. */
  storageKey?: string;
  /** Messages per history page (the API allows 1-100). */
  historyPageSize?: number;
  /** Ids for local messages and Idempotency-Keys; random UUIDs by default. */
  newId?: () => string;
  now?: () => Date;
}

export const DEFAULT_SESSION_TYPE: SessionType = "customer_support";

export function storageKeyFor(sessionType: SessionType): string {
  return `ai-chat:session:${sessionType}`;
}

function defaultStorage(): SessionStorage | null {
  try {
    return typeof window !== "undefined" && window.localStorage ? window.localStorage : null;
  } catch {
    // Reading localStorage throws where storage is blocked (sandboxed frames, some privacy settings).
    return null;
  }
}

function randomId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  // randomUUID exists only in secure contexts; an http page on a LAN address still has getRandomValues.
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHistory(m: HistoryMessageBody): ChatMessage {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    createdAt: m.created_at,
    status: m.status === "failed" ? "failed" : "sent",
    rating: m.feedback ?? null,
    error: null,
    functionCalls: m.function_calls ?? [],
  };
}

/** Whether a reply's turn handed the session to a person: it stopped there, or escalate_to_human ran. */
function escalatedBy(reply: ChatResponseBody): boolean {
  return (
    reply.metadata.stopped === "escalated" ||
    (reply.function_calls ?? []).some((call) => call.name === "escalate_to_human" && call.status === "ok")
  );
}

/** `submitted` while any message awaits its reply, else `ready`. */
function statusOf(messages: readonly ChatMessage[]): ChatStatus {
  return messages.some((m) => m.status === "pending") ? "submitted" : "ready";
}

function invalid(detail: string): ChatApiError {
  return new ChatApiError(422, { detail, code: "invalid_input" });
}

/** The state of a conversation nothing has happened in yet: a stored session's history is still to be fetched. */
function noConversation(sessionId: string | null): Omit<ChatState, "sessionType"> {
  return {
    sessionId,
    sessionStatus: null,
    status: "ready",
    messages: [],
    error: null,
    failedAction: null,
    hasOlder: false,
    historyLoaded: sessionId === null,
    sessionRating: null,
  };
}

/**
 * A conversation with the chat API, independent of any UI framework: it holds the state, performs the actions and
 * tells subscribers when the state changes (useAIChat subscribes with useSyncExternalStore). Every action rejects
 * with a ChatApiError when it fails, and also records the error in the state for a UI to show.
 */
export class ChatClient {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly transport: ChatTransport;
  private readonly storage: SessionStorage | null;
  private readonly storageKey: string;
  private readonly pageSize: number;
  private readonly newId: () => string;
  private readonly now: () => Date;
  private context: ChatContext | undefined;
  private cursor: string | null = null;
  /** Bumped by startNewSession(), so that answers to the old session's requests are dropped. */
  private generation = 0;
  private loading: Promise<void> | null = null;
  /** Sends run one after another: the second message of a new session needs the id the first one got. */
  private sendQueue: Promise<unknown> = Promise.resolve();
  /** One Idempotency-Key per user message, reused when it is retried, so a retry is never charged twice. */
  private readonly keys = new Map<string, string>();
  private retryLast: (() => Promise<unknown>) | null = null;
  /** The action retryLast repeats. */
  private retryAction: ChatAction | null = null;

  constructor(options: ChatClientOptions) {
    this.transport = options.transport;
    const sessionType = options.sessionType ?? DEFAULT_SESSION_TYPE;
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.storageKey = options.storageKey ?? storageKeyFor(sessionType);
    this.pageSize = options.historyPageSize ?? 50;
    this.newId = options.newId ?? randomId;
    this.now = options.now ?? (() => new Date());
    this.context = options.context;
    this.state = { ...noConversation(this.readStoredId()), sessionType };
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** The current state; a new object after every change, the same object otherwise. */
  readonly getSnapshot = (): ChatState => this.state;

  /** The context sent with every message from now on. */
  setContext(context: ChatContext | undefined): void {
    this.context = context;
  }

  /** Whether the session takes messages: there is none yet, or it is active. */
  get isActive(): boolean {
    return this.state.sessionStatus === null || this.state.sessionStatus === "active";
  }

  /** Fetch the stored session's latest messages; does nothing when there is no session or it is loaded. */
  load(): Promise<void> {
    if (this.loading) return this.loading;
    const { sessionId, historyLoaded } = this.state;
    if (sessionId === null || historyLoaded) return Promise.resolve();
    const generation = this.generation;
    this.update({ status: "loading", error: null, failedAction: null });
    const run = (async () => {
      try {
        const page = await this.transport.history(sessionId, { limit: this.pageSize });
        if (generation !== this.generation) return;
        this.cursor = page.next_cursor ?? null;
        this.update({
          // Keeps a message sent while the page was on its way (it waits for this load before it goes out).
          messages: [...page.messages.map(fromHistory), ...this.state.messages.filter((m) => m.status === "pending")],
          sessionStatus: page.metadata.status,
          sessionRating: page.metadata.user_rating ?? null,
          hasOlder: this.cursor !== null,
          historyLoaded: true,
          status: this.idleStatus(),
        });
      } catch (e) {
        if (generation !== this.generation) return;
        const error = toChatError(e);
        if (error.kind === "not-found") {
          // The stored session expired, was deleted, or belongs to whoever signed in before: start afresh.
          this.forgetSession();
          return;
        }
        this.fail("load", error, () => this.load());
        throw error;
      } finally {
        this.loading = null;
      }
    })();
    this.loading = run;
    return run;
  }

  /** Fetch the page of messages before the earliest one shown. */
  async loadOlder(): Promise<void> {
    const { sessionId, hasOlder } = this.state;
    if (sessionId === null || !hasOlder || this.cursor === null) return;
    const generation = this.generation;
    try {
      const page = await this.transport.history(sessionId, { limit: this.pageSize, cursor: this.cursor });
      if (generation !== this.generation) return;
      this.cursor = page.next_cursor ?? null;
      const shown = new Set(this.state.messages.map((m) => m.id));
      this.update({
        messages: [...page.messages.filter((m) => !shown.has(m.id)).map(fromHistory), ...this.state.messages],
        hasOlder: this.cursor !== null,
      });
    } catch (e) {
      if (generation !== this.generation) return;
      const error = toChatError(e);
      this.fail("older", error, () => this.loadOlder());
      throw error;
    }
  }

  /** Send a message; resolves with the API's answer (`message` is the reply). */
  sendMessage(text: string, context?: ChatContext): Promise<ChatResponseBody> {
    const content = text.trim();
    if (!content) return Promise.reject(invalid("Type a message first."));
    if (!this.isActive) {
      const error = new ChatApiError(400, { code: "session_not_active", status: this.state.sessionStatus });
      return Promise.reject(error);
    }
    const message: ChatMessage = {
      id: `local-${this.newId()}`,
      role: "user",
      content,
      createdAt: this.now().toISOString(),
      status: "pending",
      rating: null,
      error: null,
      functionCalls: [],
    };
    this.keys.set(message.id, this.newId());
    this.update({ messages: [...this.state.messages, message], status: "submitted", error: null, failedAction: null });
    return this.enqueue(message, context);
  }

  /**
   * Try the last failed action again. With a message id, or after a failed send, the failed message is sent again
   * with its first Idempotency-Key, so the API answers it once and charges it once.
   */
  retry(messageId?: string): Promise<unknown> {
    const failed = messageId
      ? this.state.messages.find((m) => m.id === messageId && m.status === "failed")
      : this.state.failedAction === "send"
        ? [...this.state.messages].reverse().find((m) => m.role === "user" && m.status === "failed")
        : undefined;
    if (failed) {
      if (!this.isActive) return Promise.reject(new ChatApiError(400, { code: "session_not_active" }));
      if (!this.keys.has(failed.id)) this.keys.set(failed.id, this.newId());
      // Moved to the end: the API stores it after everything already said, and so does the log.
      const again: ChatMessage = { ...failed, status: "pending", error: null };
      this.update({
        messages: [...this.state.messages.filter((m) => m.id !== failed.id), again],
        status: "submitted",
        error: null,
        failedAction: null,
      });
      return this.enqueue(again, undefined);
    }
    const last = this.retryLast;
    if (!last || messageId) return Promise.resolve(undefined);
    this.retryLast = null;
    this.update({ error: null, failedAction: null, status: this.idleStatus() });
    return last();
  }

  /** Rate the conversation 1-5, with optional words; the session stays open. */
  async submitFeedback(rating: number, text?: string): Promise<SessionBody> {
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw invalid("A rating is a whole number from 1 to 5.");
    const sessionId = this.state.sessionId;
    if (sessionId === null) throw invalid("Send a message before rating the conversation.");
    const feedback = text?.trim();
    const generation = this.generation;
    try {
      const session = await this.transport.sessionFeedback(sessionId, { rating, ...(feedback ? { feedback } : {}) });
      if (generation === this.generation) {
        this.update({ sessionRating: rating, sessionStatus: session.status, ...this.clearedError("feedback") });
      }
      return session;
    } catch (e) {
      const error = toChatError(e);
      if (generation === this.generation) this.fail("feedback", error, () => this.submitFeedback(rating, text));
      throw error;
    }
  }

  /** Rate one reply up or down; rating it again replaces the earlier rating. */
  async rateMessage(messageId: string, rating: MessageRating): Promise<void> {
    const sessionId = this.state.sessionId;
    const message = this.state.messages.find((m) => m.id === messageId);
    if (sessionId === null || !message || message.role !== "assistant") throw invalid("Only a reply can be rated.");
    const generation = this.generation;
    try {
      await this.transport.rateMessage(sessionId, messageId, { rating });
      if (generation === this.generation) {
        this.update({
          messages: this.state.messages.map((m) => (m.id === messageId ? { ...m, rating } : m)),
          ...this.clearedError("rate"),
        });
      }
    } catch (e) {
      const error = toChatError(e);
      if (generation === this.generation) this.fail("rate", error, () => this.rateMessage(messageId, rating));
      throw error;
    }
  }

  /** Hand the conversation to a person: the session becomes `escalated` and takes no more messages. */
  async escalateSession(reason: string): Promise<SessionBody> {
    const why = reason.trim();
    if (!why) throw invalid("Say briefly why you would like to talk to a person.");
    const generation = this.generation;
    try {
      let sessionId = this.state.sessionId;
      if (sessionId === null) {
        // Asking for a person before any message still needs a session for support staff to pick up.
        const created = await this.transport.createSession({
          session_type: this.state.sessionType,
          ...(this.context ? { context: this.context } : {}),
        });
        if (generation !== this.generation) return created;
        sessionId = created.id;
        this.adoptSession(sessionId);
      }
      const session = await this.transport.escalate(sessionId, { reason: why });
      if (generation === this.generation) this.escalated(session.status);
      return session;
    } catch (e) {
      const error = toChatError(e);
      if (generation === this.generation) this.fail("escalate", error, () => this.escalateSession(reason));
      throw error;
    }
  }

  /** Leave the current conversation (it stays on the server) and start with an empty one. */
  startNewSession(): void {
    this.forgetSession();
  }

  private enqueue(message: ChatMessage, context: ChatContext | undefined): Promise<ChatResponseBody> {
    const generation = this.generation;
    const run = this.sendQueue.then(() => this.deliver(message, context, generation));
    this.sendQueue = run.catch(() => undefined);
    return run;
  }

  private async deliver(message: ChatMessage, context: ChatContext | undefined, generation: number): Promise<ChatResponseBody> {
    // A message typed while history loads waits for it, so the loaded page cannot replace it.
    if (this.loading) await this.loading.catch(() => undefined);
    if (generation !== this.generation) {
      throw new ChatApiError(0, { code: "superseded", detail: "A new conversation was started." }, { kind: "unknown" });
    }
    const sessionId = this.state.sessionId;
    const merged = this.context || context ? { ...this.context, ...context } : undefined;
    try {
      const reply = await this.transport.chat(
        {
          message: message.content,
          session_id: sessionId,
          ...(merged ? { context: merged } : {}),
          ...(sessionId === null ? { session_type: this.state.sessionType } : {}),
        },
        { idempotencyKey: this.keys.get(message.id) ?? this.newId() },
      );
      if (generation !== this.generation) return reply;
      this.keys.delete(message.id);
      if (sessionId === null) this.adoptSession(reply.session_id);
      const answer: ChatMessage = {
        id: reply.metadata.message_id,
        role: "assistant",
        content: reply.message,
        createdAt: this.now().toISOString(),
        status: "sent",
        rating: null,
        error: null,
        functionCalls: reply.function_calls ?? [],
      };
      const messages = [
        ...this.state.messages.map((m) => (m.id === message.id ? { ...m, status: "sent" as const } : m)),
        answer,
      ];
      this.update({ messages, status: statusOf(messages) });
      // The model handed the conversation to a person: the session is escalated on the server, as after
      // escalateSession(), and the client follows it the same way.
      if (escalatedBy(reply)) this.escalated("escalated");
      return reply;
    } catch (e) {
      const error = toChatError(e);
      if (generation !== this.generation) throw error;
      this.update({
        messages: this.state.messages.map((m) => (m.id === message.id ? { ...m, status: "failed" as const, error } : m)),
        ...(error.sessionStatus ? { sessionStatus: error.sessionStatus } : {}),
      });
      this.fail("send", error, null);
      throw error;
    }
  }

  /**
   * The session was handed to a person, by the person (escalateSession) or by the model (escalate_to_human): it takes
   * no more messages, and an earlier failed request for a person is settled.
   */
  private escalated(status: SessionStatus): void {
    // A failed request for a person is settled even when a message sent since took its error off the state.
    if (this.retryAction === "escalate") this.retryLast = null;
    this.update({ sessionStatus: status, ...this.clearedError("escalate") });
  }

  private adoptSession(sessionId: string): void {
    try {
      this.storage?.setItem(this.storageKey, sessionId);
    } catch {
      // Storage full or blocked: the conversation still works, it just will not resume after a reload.
    }
    this.update({ sessionId, sessionStatus: "active", historyLoaded: true });
  }

  private forgetSession(): void {
    this.generation += 1;
    this.loading = null;
    this.sendQueue = Promise.resolve();
    this.keys.clear();
    this.cursor = null;
    this.retryLast = null;
    try {
      this.storage?.removeItem(this.storageKey);
    } catch {
      // Blocked storage held nothing to remove.
    }
    this.update(noConversation(null));
  }

  private readStoredId(): string | null {
    try {
      return this.storage?.getItem(this.storageKey) || null;
    } catch {
      return null;
    }
  }

  private idleStatus(): ChatStatus {
    return statusOf(this.state.messages);
  }

  /** A success clears the error it follows up on (the same action's), not another action's. */
  private clearedError(action: ChatAction): Partial<ChatState> {
    if (this.state.failedAction !== action) return {};
    this.retryLast = null;
    return { error: null, failedAction: null, status: this.idleStatus() };
  }

  private fail(action: ChatAction, error: ChatApiError, again: (() => Promise<unknown>) | null): void {
    this.retryLast = again;
    this.retryAction = action;
    // While a later message still awaits its reply the status stays `submitted`; the error shows all the same.
    const status = statusOf(this.state.messages) === "submitted" ? "submitted" : "error";
    this.update({ error, failedAction: action, status });
  }

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}
