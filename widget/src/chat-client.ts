import type {
  ChatContext,
  ChatRequestBody,
  ChatResponseBody,
  MessageRating,
  SessionBody,
  SessionStatus,
  SessionType,
} from "./api-types";
import { ChatApiError, toChatError } from "./chat-error";
import {
  awaitedIn,
  busy,
  fromHistory,
  fromPage,
  noConversation,
  statusOf,
  userMessage,
  type ChatAction,
  type ChatMessage,
  type ChatState,
  type ChatStatus,
} from "./chat-state";
import { HandoffFollower } from "./handoff-follower";
import { MessageDelivery } from "./message-delivery";
import { PendingWatch } from "./pending-watch";
import { latestResumableSession, type ListMySessions } from "./session-resume";
import { defaultStorage, StoredSession, storageKeyFor, type SessionStorage } from "./session-storage";
import type { ChatTransport } from "./transport";

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
  /**
   * Send messages to POST /chat/stream and show each reply as it is written (default true, when the transport
   * can stream); false sends them to POST /chat, each reply shown when it is whole.
   */
  stream?: boolean;
  /**
   * After a stream that dropped: how long to wait (ms) before each look at the history for the stored reply (the
   * server finishes and stores the turn whatever the client does). Defaults to about a minute in all.
   */
  recoveryDelays?: readonly number[];
  /** How long (ms) a stopped reply may go on streaming before the client stops reading it and loads it instead. */
  stopGraceMs?: number;
  /**
   * When a loaded history ends with the user's message still pending (its reply is being written, for a page that
   * was reloaded, say): how long to wait (ms) before each look at the history for the reply. Defaults to 0.5 s
   * growing to 3 s, about two minutes in all (the server's stream deadline).
   */
  pendingDelays?: readonly number[];
  /** While a person has the session (escalated): how often (ms) to look for their messages. Defaults to 4 s. */
  handoffPollMs?: number;
  /**
   * With no session stored, load() first looks for the user's newest session of this type that is active or
   * escalated (GET /sessions/my, page after page) and, when there is one, keeps it and loads it, as if it had been
   * stored: the conversation goes on in a new browser. Default false.
   */
  resume?: boolean;
}

export const DEFAULT_SESSION_TYPE: SessionType = "customer_support";

function randomId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  // randomUUID exists only in secure contexts; an http page on a LAN address still has getRandomValues.
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function invalid(detail: string): ChatApiError {
  return new ChatApiError(422, { detail, code: "invalid_input" });
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
  private readonly storedSession: StoredSession;
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
  private stream: boolean;
  private resume: boolean;
  /** The look for a session to resume is made once: after startNewSession() the person chose a new one. */
  private resumeLooked = false;
  /** Sends each message and shows its reply, streamed or whole. */
  private readonly delivery: MessageDelivery;
  /** The one reply being followed in the history (after a reload mid-reply), if any. */
  private readonly pending: PendingWatch;
  /** How many retain() holders there are; when the last lets go the background looks pause. */
  private holders = 0;
  /** Looks for a person's messages while the session is escalated. */
  private readonly handoff: HandoffFollower;

  constructor(options: ChatClientOptions) {
    this.transport = options.transport;
    const sessionType = options.sessionType ?? DEFAULT_SESSION_TYPE;
    const storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.storedSession = new StoredSession(storage, options.storageKey ?? storageKeyFor(sessionType));
    this.pageSize = options.historyPageSize ?? 50;
    this.newId = options.newId ?? randomId;
    this.now = options.now ?? (() => new Date());
    this.context = options.context;
    this.stream = options.stream ?? true;
    this.resume = options.resume ?? false;
    // What each part that changes the state shares of the client.
    const host = {
      state: () => this.state,
      generation: () => this.generation,
      update: (patch: Partial<ChatState>) => this.update(patch),
    };
    this.pending = new PendingWatch({
      ...host,
      latest: (sessionId) => this.transport.history(sessionId, { limit: this.pageSize }),
      fail: (action, error, again) => this.fail(action, error, again),
      escalated: (takenBy) => this.escalated("escalated", takenBy),
    }, options.pendingDelays);
    this.handoff = new HandoffFollower({
      ...host,
      history: (sessionId, { after }) =>
        this.transport.history(sessionId, after ? { after, limit: this.pageSize } : { limit: this.pageSize }),
    }, { intervalMs: options.handoffPollMs });
    this.delivery = new MessageDelivery({
      ...host,
      fail: (action, error, again) => this.fail(action, error, again),
      clearedError: (action) => this.clearedError(action),
      escalated: () => this.escalated("escalated"),
      adoptSession: (sessionId) => this.adoptSession(sessionId),
      idempotencyKey: (message) => this.keys.get(message.id) ?? this.newId(),
      received: (message) => {
        this.keys.delete(message.id);
      },
    }, {
      transport: this.transport, pageSize: this.pageSize, newId: this.newId, now: this.now,
      recoveryDelays: options.recoveryDelays, stopGraceMs: options.stopGraceMs,
    });
    this.state = { ...noConversation(this.storedSession.read()), sessionType };
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

  /**
   * Hold the client while it is shown: its background looks at the history (for a reply being written when the
   * history was loaded) go on while anything holds it, and pause, with no more requests, once the last holder lets
   * go (the returned function), until something holds it again. useAIChat holds its client while it is mounted; a
   * client nothing ever held looks all the same.
   */
  retain(): () => void {
    this.holders += 1;
    this.pending.resume();
    this.handoff.resume();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holders -= 1;
      if (this.holders > 0) return;
      this.handoff.pause();
      this.pending.pause();
    };
  }

  /** How often (ms) to look for a person's messages while the session is escalated. */
  setHandoffPollMs(ms: number): void {
    this.handoff.setInterval(ms);
  }

  /** Whether messages sent from now on stream (POST /chat/stream) or not (POST /chat). */
  setStream(stream: boolean): void {
    this.stream = stream;
  }

  /** Whether load() looks for a session to resume when none is stored (the option `resume`). */
  setResume(resume: boolean): void {
    this.resume = resume;
  }

  /** Whether the next message will stream: streaming is on and the transport can. */
  get streams(): boolean {
    return this.stream && typeof this.transport.chatStream === "function";
  }

  /** Whether the session takes messages: there is none yet, or it is active, or a person has it (escalated). */
  get isActive(): boolean {
    const status = this.state.sessionStatus;
    return status === null || status === "active" || status === "escalated";
  }

  /** Whether withdrawEscalation() can be asked for: the request for a person waits, taken by nobody yet. */
  get canWithdraw(): boolean {
    return typeof this.transport.withdraw === "function" && this.state.sessionStatus === "escalated" &&
      this.state.takenBy === null;
  }

  /** Whether deleteSession() can be asked for: there is a session, and the transport can delete one. */
  get canDelete(): boolean {
    return typeof this.transport.deleteSession === "function" && this.state.sessionId !== null;
  }

  /** Fetch the stored session's latest messages; does nothing when there is no session or it is loaded. */
  load(): Promise<void> {
    if (this.loading) return this.loading;
    const transport = this.transport;
    if (this.state.sessionId === null && this.resume && !this.resumeLooked && transport.mySessions) {
      return this.resumeLatest((options) => transport.mySessions!(options));
    }
    const { sessionId, historyLoaded } = this.state;
    if (sessionId === null || historyLoaded) return Promise.resolve();
    const generation = this.generation;
    this.update({ status: "loading", error: null, failedAction: null });
    const run = (async () => {
      try {
        const page = await this.transport.history(sessionId, { limit: this.pageSize });
        if (generation !== this.generation) return;
        this.cursor = page.next_cursor ?? null;
        // The newest message still pending is being answered on the server (the turn goes on whatever the page
        // that sent it did): it shows as awaiting its reply, and the history is looked at until the reply is in.
        const awaited = awaitedIn(page);
        // Keeps a message sent while the page was on its way (it waits for this load before it goes out).
        const messages = [...fromPage(page.messages, awaited), ...this.state.messages.filter((m) => m.status === "pending")];
        this.update({
          messages,
          sessionStatus: page.metadata.status,
          takenBy: page.metadata.taken_by_name ?? null,
          sessionRating: page.metadata.user_rating ?? null,
          hasOlder: this.cursor !== null,
          historyLoaded: true,
          status: statusOf(messages),
        });
        if (awaited) this.pending.watch(sessionId, awaited.id);
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

  /** Look for the user's newest open session of this type; when there is one, keep it and load its history. */
  private resumeLatest(list: ListMySessions): Promise<void> {
    this.resumeLooked = true;
    const generation = this.generation;
    this.update({ status: "loading", error: null, failedAction: null });
    const run = (async () => {
      let found: SessionBody | null;
      try {
        found = await latestResumableSession(list, this.state.sessionType);
      } catch (e) {
        this.loading = null;
        if (generation !== this.generation) return;
        // Not knowing whether there is one to go on with, a first message would start another: say so, and let
        // Try again look once more.
        this.resumeLooked = false;
        const error = toChatError(e);
        this.fail("load", error, () => this.load());
        throw error;
      }
      this.loading = null;
      if (generation !== this.generation || this.state.sessionId !== null) return;
      if (!found) {
        this.update({ status: statusOf(this.state.messages) });
        return;
      }
      this.storedSession.keep(found.id);
      this.update({ sessionId: found.id, sessionStatus: found.status, historyLoaded: false });
      await this.load();
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
    const message = userMessage(`local-${this.newId()}`, content, this.now().toISOString());
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

  /**
   * Ask for a person: the session becomes `escalated`; messages sent from then on are kept for the person, and
   * their replies are looked for every few seconds.
   */
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
      if (generation === this.generation) this.escalated(session.status, session.taken_by_name ?? null);
      return session;
    } catch (e) {
      const error = toChatError(e);
      if (generation === this.generation) this.fail("escalate", error, () => this.escalateSession(reason));
      throw error;
    }
  }

  /**
   * Take back a request for a person that nobody has taken yet: the session is active again, and the assistant
   * answers. Once a person has taken it the API refuses (409 escalation_taken, its detail naming them).
   */
  async withdrawEscalation(): Promise<SessionBody> {
    const sessionId = this.state.sessionId;
    const withdraw = this.transport.withdraw;
    if (!withdraw) throw new ChatApiError(0, { code: "not_supported", detail: "This chat cannot cancel a request for a person." }, { kind: "unknown" });
    if (sessionId === null || this.state.sessionStatus !== "escalated") {
      throw new ChatApiError(400, { code: "session_not_active", detail: "No request for a person is waiting." });
    }
    const generation = this.generation;
    try {
      const session = await withdraw.call(this.transport, sessionId);
      if (generation === this.generation) {
        this.update({ sessionStatus: session.status, takenBy: session.taken_by_name ?? null, ...this.clearedError("withdraw") });
      }
      return session;
    } catch (e) {
      const error = toChatError(e);
      if (generation === this.generation) {
        // Taken already: asking again cannot succeed, and the person's joining is in the history to show now.
        const taken = error.code === "escalation_taken";
        this.fail("withdraw", error, taken ? null : () => this.withdrawEscalation());
        if (taken) this.handoff.lookNow();
      }
      throw error;
    }
  }

  /**
   * End the streaming reply where it is: the server stops the model and stores the reply so far (marked
   * `stopped`), and the stream ends within about a second. Before the stream has named its session, the stop is
   * sent once it has. Does nothing when no reply is streaming.
   */
  stop(): Promise<void> {
    return this.delivery.stop();
  }

  /** Leave the current conversation (it stays on the server) and start with an empty one. */
  startNewSession(): void {
    this.forgetSession();
  }

  /**
   * Delete the conversation on the server (DELETE /sessions/{id}) and start with an empty one: the next message
   * starts a new session, and the stored id is forgotten. A session that is gone already (404) is forgotten all
   * the same. While a reply is being written the API refuses (409 turn_in_progress) and the conversation stays:
   * the error is in the state, and retry() asks again.
   */
  async deleteSession(): Promise<void> {
    const sessionId = this.state.sessionId;
    const remove = this.transport.deleteSession;
    if (!remove) throw new ChatApiError(0, { code: "not_supported", detail: "This chat cannot delete a conversation." }, { kind: "unknown" });
    if (sessionId === null) throw invalid("There is no conversation to delete.");
    const generation = this.generation;
    try {
      await remove.call(this.transport, sessionId);
    } catch (e) {
      const error = toChatError(e);
      if (error.kind !== "not-found") {
        if (generation === this.generation) this.fail("delete", error, () => this.deleteSession());
        throw error;
      }
    }
    // Left already (a new conversation started while the request was out): that one is not this to clear.
    if (generation !== this.generation) return;
    // The person chose to start afresh: another open session of theirs is not resumed in its place.
    this.resumeLooked = true;
    this.forgetSession({ deletedSessionId: sessionId });
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
    const sessionId = this.state.sessionId;
    const merged = this.context || context ? { ...this.context, ...context } : undefined;
    const body: ChatRequestBody = {
      message: message.content,
      session_id: sessionId,
      ...(merged ? { context: merged } : {}),
      ...(sessionId === null ? { session_type: this.state.sessionType } : {}),
    };
    return this.delivery.send(message, body, generation, this.streams);
  }

  /**
   * The session was handed to a person, by the person (escalateSession) or by the model (escalate_to_human): their
   * replies are looked for from now on, and an earlier failed request for a person is settled.
   */
  private escalated(status: SessionStatus, takenBy: string | null = null): void {
    // A failed request for a person is settled even when a message sent since took its error off the state.
    if (this.retryAction === "escalate") this.retryLast = null;
    this.update({ sessionStatus: status, takenBy, ...this.clearedError("escalate") });
  }

  private adoptSession(sessionId: string): void {
    this.storedSession.keep(sessionId);
    this.update({ sessionId, sessionStatus: "active", historyLoaded: true });
  }

  /** Leave the conversation for an empty one, `patch` set in the same change. */
  private forgetSession(patch: Partial<ChatState> = {}): void {
    this.generation += 1;
    this.delivery.abandon();
    this.pending.stop();
    this.loading = null;
    this.sendQueue = Promise.resolve();
    this.keys.clear();
    this.cursor = null;
    this.retryLast = null;
    this.storedSession.forget();
    this.update({ ...noConversation(null), ...patch });
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
    const now = statusOf(this.state.messages);
    const status = busy(now) ? now : "error";
    this.update({ error, failedAction: action, status });
  }

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    // Ending the looks for a person clears who had the session, in this same change.
    const cleared = this.handoff.follow(this.state);
    if (cleared) this.state = { ...this.state, ...cleared };
    for (const listener of [...this.listeners]) listener();
  }
}
