import type {
  ChatContext,
  ChatRequestBody,
  ChatResponseBody,
  FunctionCall,
  HandoffMarker,
  HistoryBody,
  HistoryMessageBody,
  MessageRating,
  SessionBody,
  SessionStatus,
  SessionType,
} from "./api-types";
import { ChatApiError, toChatError } from "./chat-error";
import { HandoffPoller } from "./handoff-poller";
import type { ChatTransport } from "./transport";
import type { StreamMetadata, UiMessagePart } from "./ui-message-stream";

/**
 * What the client is doing: `loading` history, `submitted` (a reply is pending), `streaming` (a reply is being
 * written, and shows as it is), `ready`, or `error` (the last action failed; `error` says why). Whether the session
 * still takes messages is `sessionStatus`, a separate thing.
 */
export type ChatStatus = "loading" | "ready" | "submitted" | "streaming" | "error";

/** The action an error came from, so a UI can word it and knows what retry() will do. */
export type ChatAction = "send" | "load" | "older" | "feedback" | "rate" | "escalate" | "stop" | "withdraw";

/** A tool call of a reply; `running` while a streamed reply's tool has not answered yet (its result is then {}). */
export type ChatFunctionCall = Omit<FunctionCall, "status"> & { status: FunctionCall["status"] | "running" };

export interface ChatMessage {
  /**
   * The API's message id, or a local one (`local-…`) for a user message (the API names only the reply) and for a
   * reply still streaming (it gets the API's id when it is stored).
   */
  id: string;
  /** The same for the message's whole life, also when a streamed reply gets the API's id: what a UI keys it by. */
  key: string;
  /** `agent`: a person of the support team wrote it (in an escalated session), named by `agentName`. */
  role: "user" | "assistant" | "agent";
  /** A person's reply: the name they are shown by. */
  agentName?: string | null;
  /** A person's marker, not a reply: they `joined` the conversation, or `left` it (its content says how). */
  handoff?: HandoffMarker | null;
  /** The text; a streaming reply's grows as it is written. */
  content: string;
  /** ISO 8601. */
  createdAt: string;
  /**
   * `pending` until its reply arrives; `failed` when it was not answered (retry() sends it again); `streaming`
   * while a reply is being written.
   */
  status: "sent" | "pending" | "failed" | "streaming";
  /** A reply's up/down rating. */
  rating: MessageRating | null;
  /** Why a failed message failed, when this client saw it fail. */
  error: ChatApiError | null;
  /** A reply's tool calls (a ticket created, a hand-over to a person, …), in the order the model made them. */
  functionCalls: readonly ChatFunctionCall[];
  /**
   * Why a reply ended before the model's own answer: `stopped` (stop() ended it; the text is as far as it went),
   * `escalated`, `taken_by_person` (a person took the session while it ran: the server kept no text of it, and the
   * widget shows none), a limit's code, `max_tool_steps`, a provider error (`provider_…`, the text cut short); else
   * null.
   */
  stopped: string | null;
  /** The provider never reported the reply's usage (a stream stopped or cut short): its cost is an upper bound. */
  estimated: boolean;
}

export interface ChatState {
  sessionId: string | null;
  sessionType: SessionType;
  /**
   * null until the session exists. `escalated`: a person of the support team has it, or will; messages still go
   * out (kept for them) and their replies are looked for. `completed` and `abandoned` take no more messages.
   */
  sessionStatus: SessionStatus | null;
  /** While escalated: the person who took the session, once one has (null while the request waits for one). */
  takenBy: string | null;
  /** While escalated: the last few looks for the person's messages failed (the client goes on looking). */
  handoffCheckFailing: boolean;
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
  /** A streamed reply is on its way and stop() would end it. */
  canStop: boolean;
  /** stop() was asked for, and the reply has not ended yet. */
  stopping: boolean;
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
}

const RECOVERY_DELAYS = [0, 500, 1000, 2000, 3000, 5000, 5000, 5000, 5000, 5000, 10000, 10000, 10000];
// 0.5 s, 1 s, 2 s, then every 3 s: 120.5 s in all, as long as the server lets a turn run (STREAM_DEADLINE_SECONDS).
const PENDING_DELAYS: readonly number[] = [500, 1000, 2000, ...Array.from({ length: 39 }, () => 3000)];
// The server ends a stopped reply within STOP_CHECK_SECONDS (1 s) of the stop, plus a word's wait for the provider.
const STOP_GRACE_MS = 5000;
// One GET …/history?after= per look, a single cheap query: a person's reply shows within a few seconds.
const HANDOFF_POLL_MS = 4000;
// A blip of the network is not worth a word; this many failed looks in a row are.
const HANDOFF_FAILURES_SHOWN = 3;
// Pages of newer messages read in one look (next_after); the rest wait for the next look.
const HANDOFF_PAGES_PER_LOOK = 5;

export const DEFAULT_SESSION_TYPE: SessionType = "customer_support";
/** `stopped` of a reply whose turn a person took the session from: no tool ran and no text was kept after that. */
export const TAKEN_BY_PERSON = "taken_by_person";

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
    key: m.id,
    role: m.role,
    content: m.content,
    createdAt: m.created_at,
    status: m.status === "failed" ? "failed" : "sent",
    rating: m.feedback ?? null,
    error: null,
    functionCalls: m.function_calls ?? [],
    stopped: m.stopped ?? null,
    estimated: m.estimated ?? false,
    agentName: m.agent_name ?? null,
    handoff: m.handoff ?? null,
  };
}

/** The newest message of a page when it is the user's and still pending: its reply is being written. */
function awaitedIn(page: HistoryBody): HistoryMessageBody | null {
  const newest = page.messages[page.messages.length - 1];
  return newest?.role === "user" && newest.status === "pending" ? newest : null;
}

/** A page's messages as the client shows them; the awaited one is pending, as a message sent from here would be. */
function fromPage(messages: readonly HistoryMessageBody[], awaited: HistoryMessageBody | null): ChatMessage[] {
  return messages.map((m) => (m === awaited ? { ...fromHistory(m), status: "pending" as const } : fromHistory(m)));
}

/**
 * Whether a reply's turn handed the session to a person: it stopped there, a person took the session while it ran
 * (`taken_by_person`), or escalate_to_human ran.
 */
function escalatedBy(reply: ChatResponseBody): boolean {
  return (
    reply.metadata.stopped === "escalated" ||
    reply.metadata.stopped === TAKEN_BY_PERSON ||
    (reply.function_calls ?? []).some((call) => call.name === "escalate_to_human" && call.status === "ok")
  );
}

/** The newest message the API named: where a look for newer ones starts. */
function newestStoredId(messages: readonly ChatMessage[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const id = messages[i]?.id;
    if (id && !id.startsWith("local-")) return id;
  }
  return null;
}

function isSessionChanged(e: unknown): boolean {
  return e instanceof ChatApiError && e.code === "session_changed";
}

/** `streaming` while a reply is being written, `submitted` while any message awaits its reply, else `ready`. */
function statusOf(messages: readonly ChatMessage[]): ChatStatus {
  if (messages.some((m) => m.status === "streaming")) return "streaming";
  return messages.some((m) => m.status === "pending") ? "submitted" : "ready";
}

/** A reply is on its way: the status a failure elsewhere does not replace. */
function busy(status: ChatStatus): boolean {
  return status === "submitted" || status === "streaming";
}

/** An answer to a conversation that was left (startNewSession) before it came. */
function superseded(): ChatApiError {
  return new ChatApiError(0, { code: "superseded", detail: "A new conversation was started." }, { kind: "unknown" });
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
    takenBy: null,
    handoffCheckFailing: false,
    hasOlder: false,
    historyLoaded: sessionId === null,
    sessionRating: null,
    canStop: false,
    stopping: false,
  };
}

/** A streamed turn being read: what stop() and startNewSession() act on. */
interface LiveTurn {
  readonly controller: AbortController;
  sessionId: string | null;
  /** The `start` part's user_message_id: the stored message whose reply the history holds if the stream drops. */
  userMessageId: string | null;
  stopRequested: boolean;
  stopTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * A reply being written for a message the history showed pending (the page that sent it was reloaded, or another
 * one sent it): the history is looked at until the message is answered or failed.
 */
interface PendingWatch {
  readonly sessionId: string;
  readonly messageId: string;
  readonly generation: number;
  /** Which of the delays comes next: the looks are counted across pauses, so two minutes stay two minutes. */
  next: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** A look at the history is on its way. */
  looking: boolean;
}

/** A streamed reply as its parts have built it so far. */
interface Draft {
  readonly key: string;
  readonly createdAt: string;
  text: string;
  /** The text part written last; another one starts a new paragraph. */
  textPart: string | null;
  newParagraph: boolean;
  calls: ChatFunctionCall[];
  metadata: StreamMetadata | null;
  /** An `error` part's sentence and a `data-error` part's code. */
  failure: { detail: string | null; code: string | null } | null;
  /** `finish` or `[DONE]` arrived: the stream ended as it should. */
  ended: boolean;
  /**
   * Sent while a person has the session: no reply is shown unless a model call starts (the session was handed back
   * to the AI meanwhile), as the server keeps the message for the person instead.
   */
  held: boolean;
}

/** A tool's input or output as the FunctionCall fields hold them: an object, or the text the model wrote. */
function callArguments(input: unknown): FunctionCall["arguments"] {
  if (typeof input === "string" || (typeof input === "object" && input !== null && !Array.isArray(input))) {
    return input as FunctionCall["arguments"];
  }
  return JSON.stringify(input ?? null);
}

function callResult(output: unknown): FunctionCall["result"] {
  return typeof output === "object" && output !== null && !Array.isArray(output)
    ? (output as FunctionCall["result"])
    : { value: output };
}

/** A stream's error part as an error: the API's code (its kind decides the retry), and its sentence. */
function streamError(failure: Draft["failure"]): ChatApiError {
  const code = failure?.code ?? "stream_error";
  const status = code.startsWith("provider_") ? 502 : code.endsWith("_limit_exceeded") ? 400 : 500;
  return new ChatApiError(status, { code, detail: failure?.detail ?? undefined });
}

/**
 * A send refused with 409 session_changed (a person handed the session back between the server's read and its
 * write; nothing was kept or charged) is sent once more, with the same Idempotency-Key.
 */
async function againIfChanged<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    if (!isSessionChanged(e)) throw e;
    return send();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  private stream: boolean;
  private readonly recoveryDelays: readonly number[];
  private readonly stopGraceMs: number;
  /** The streamed turn being read, if any. */
  private live: LiveTurn | null = null;
  private readonly pendingDelays: readonly number[];
  /** The one reply being followed in the history, if any. */
  private watch: PendingWatch | null = null;
  /** How many retain() holders there are; when the last lets go the background looks pause. */
  private holders = 0;
  private paused = false;
  /** Looks for a person's messages while the session is escalated. */
  private readonly poller: HandoffPoller;
  /** The newest message a look at the history has seen: the next look asks for the ones after it. */
  private handoffCursor: string | null = null;

  constructor(options: ChatClientOptions) {
    this.transport = options.transport;
    const sessionType = options.sessionType ?? DEFAULT_SESSION_TYPE;
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.storageKey = options.storageKey ?? storageKeyFor(sessionType);
    this.pageSize = options.historyPageSize ?? 50;
    this.newId = options.newId ?? randomId;
    this.now = options.now ?? (() => new Date());
    this.context = options.context;
    this.stream = options.stream ?? true;
    this.recoveryDelays = options.recoveryDelays ?? RECOVERY_DELAYS;
    this.stopGraceMs = options.stopGraceMs ?? STOP_GRACE_MS;
    this.pendingDelays = options.pendingDelays ?? PENDING_DELAYS;
    this.poller = new HandoffPoller({
      intervalMs: options.handoffPollMs ?? HANDOFF_POLL_MS,
      look: () => this.lookForPerson(),
      onLooked: (failures) => {
        const failing = failures >= HANDOFF_FAILURES_SHOWN;
        if (failing !== this.state.handoffCheckFailing) this.update({ handoffCheckFailing: failing });
      },
    });
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

  /**
   * Hold the client while it is shown: its background looks at the history (for a reply being written when the
   * history was loaded) go on while anything holds it, and pause, with no more requests, once the last holder lets
   * go (the returned function), until something holds it again. useAIChat holds its client while it is mounted; a
   * client nothing ever held looks all the same.
   */
  retain(): () => void {
    this.holders += 1;
    this.paused = false;
    this.scheduleWatch();
    this.poller.resume();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holders -= 1;
      if (this.holders > 0) return;
      this.paused = true;
      this.poller.pause();
      if (this.watch?.timer != null) {
        clearTimeout(this.watch.timer);
        this.watch.timer = null;
      }
    };
  }

  /** How often (ms) to look for a person's messages while the session is escalated. */
  setHandoffPollMs(ms: number): void {
    this.poller.setInterval(ms);
  }

  /** Whether messages sent from now on stream (POST /chat/stream) or not (POST /chat). */
  setStream(stream: boolean): void {
    this.stream = stream;
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
        if (awaited) this.watchPending(sessionId, awaited.id);
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
    const id = `local-${this.newId()}`;
    const message: ChatMessage = {
      id,
      key: id,
      role: "user",
      content,
      createdAt: this.now().toISOString(),
      status: "pending",
      rating: null,
      error: null,
      functionCalls: [],
      stopped: null,
      estimated: false,
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
        if (taken) this.poller.lookNow();
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
    const turn = this.live;
    if (!turn || turn.stopRequested) return Promise.resolve();
    turn.stopRequested = true;
    this.update({ canStop: false, stopping: true, ...this.clearedError("stop") });
    return turn.sessionId === null ? Promise.resolve() : this.requestStop(turn, turn.sessionId);
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
    if (generation !== this.generation) throw superseded();
    const sessionId = this.state.sessionId;
    const merged = this.context || context ? { ...this.context, ...context } : undefined;
    const body: ChatRequestBody = {
      message: message.content,
      session_id: sessionId,
      ...(merged ? { context: merged } : {}),
      ...(sessionId === null ? { session_type: this.state.sessionType } : {}),
    };
    if (this.streams) return this.deliverStream(message, body, generation);
    try {
      const key = this.keys.get(message.id) ?? this.newId();
      const reply = await againIfChanged(() => this.transport.chat(body, { idempotencyKey: key }));
      if (generation !== this.generation) return reply;
      this.keys.delete(message.id);
      if (sessionId === null) this.adoptSession(reply.session_id);
      if (reply.status === "waiting_for_person") {
        this.keptForPerson(message, reply.metadata.message_id, null);
        return reply;
      }
      const answer: ChatMessage = {
        id: reply.metadata.message_id,
        key: reply.metadata.message_id,
        role: "assistant",
        content: reply.message,
        createdAt: this.now().toISOString(),
        status: "sent",
        rating: null,
        error: null,
        functionCalls: reply.function_calls ?? [],
        stopped: reply.metadata.stopped ?? null,
        estimated: reply.metadata.estimated ?? false,
      };
      const messages = [
        ...this.state.messages.map((m) => (m.id === message.id ? { ...m, status: "sent" as const } : m)),
        answer,
      ];
      this.update({ messages, status: statusOf(messages) });
      // The model handed the conversation to a person: the session is escalated on the server, as after
      // escalateSession(), and the client follows it the same way.
      if (escalatedBy(reply)) this.escalated("escalated");
      else this.answeredByModel();
      return reply;
    } catch (e) {
      throw this.notSent(message, e, generation, null);
    }
  }

  /**
   * A message sent to POST /chat/stream: the reply shows as its parts arrive. A refusal before the stream is a
   * failed message, as with POST /chat. A stream that drops (or ends without `finish`) is not sent again (the
   * server finishes and stores the turn whatever the client does): the stored reply is read from the history.
   */
  private async deliverStream(message: ChatMessage, body: ChatRequestBody, generation: number): Promise<ChatResponseBody> {
    const stream = this.transport.chatStream;
    if (!stream) throw new Error("the transport cannot stream");
    const turn: LiveTurn = {
      controller: new AbortController(),
      sessionId: body.session_id ?? null,
      userMessageId: null,
      stopRequested: false,
      stopTimer: null,
    };
    this.live = turn;
    const held = this.state.sessionStatus === "escalated";
    // A message kept for a person has no reply to stop.
    this.update({ canStop: !held, stopping: false });
    const replyKey = `local-${this.newId()}`;
    // Kept until the stream starts: a retry of a message whose stream never began may have reached the server
    // anyway, and under the same key it is answered from that turn, not run and charged again.
    const idempotencyKey = this.keys.get(message.id) ?? this.newId();
    try {
      let parts: AsyncIterable<UiMessagePart>;
      try {
        parts = await againIfChanged(() => stream.call(this.transport, body, {
          signal: turn.controller.signal, idempotencyKey,
        }));
      } catch (e) {
        throw this.notSent(message, e, generation, null);
      }
      const draft: Draft = {
        key: replyKey, createdAt: this.now().toISOString(), text: "", textPart: null, newParagraph: false, calls: [],
        metadata: null, failure: null, ended: false, held,
      };
      let dropped: unknown = null;
      try {
        for await (const part of parts) {
          if (generation !== this.generation) break;
          this.read(turn, message, draft, part);
        }
      } catch (e) {
        dropped = e; // the connection dropped, or the stop's grace ran out
      }
      if (generation !== this.generation) throw superseded();
      const stored = draft.metadata?.message_id;
      if (stored && stored === turn.userMessageId) return this.keptForPerson(message, stored, draft.key, draft);
      if (draft.metadata?.message_id) return this.streamed(message, draft, draft.metadata);
      if (draft.ended && draft.failure) {
        // The turn failed before any reply was stored: the message is kept as failed, nothing charged.
        throw this.notSent(message, streamError(draft.failure), generation, replyKey);
      }
      if (turn.userMessageId === null || turn.sessionId === null) {
        throw this.notSent(message, dropped ?? new ChatApiError(0, null), generation, replyKey);
      }
      return await this.recover(message, draft, turn.sessionId, turn.userMessageId, generation);
    } finally {
      this.endTurn(turn);
    }
  }

  /** One part of the stream, read into the draft reply and the state. */
  private read(turn: LiveTurn, message: ChatMessage, draft: Draft, part: UiMessagePart): void {
    switch (part.type) {
      case "start": {
        const ids = part.messageMetadata ?? {};
        if (ids.user_message_id) turn.userMessageId = ids.user_message_id;
        if (turn.sessionId === null && ids.session_id) {
          turn.sessionId = ids.session_id;
          this.adoptSession(ids.session_id);
        }
        // The server has the message now: it is sent, and its reply (unless it is kept for a person) is on its way.
        this.keys.delete(message.id);
        this.showDraft(message, draft);
        if (turn.stopRequested && turn.sessionId !== null) this.requestStop(turn, turn.sessionId).catch(() => undefined);
        return;
      }
      case "start-step":
        // A model call: the session was handed back to the AI since the message was sent, and it answers.
        if (draft.held) {
          draft.held = false;
          this.update({ canStop: !turn.stopRequested });
          this.show(message, draft);
        }
        return;
      case "text-start":
        if (draft.text !== "" && part.id !== draft.textPart) draft.newParagraph = true;
        draft.textPart = part.id;
        return;
      case "text-delta":
        if (draft.newParagraph && part.delta !== "") {
          draft.text += /\n\s*$/.test(draft.text) ? "\n" : "\n\n";
          draft.newParagraph = false;
        }
        draft.text += part.delta;
        draft.textPart = part.id;
        this.showDraft(message, draft);
        return;
      case "tool-input-available": {
        const call: ChatFunctionCall = {
          id: part.toolCallId, name: part.toolName, arguments: callArguments(part.input), status: "running", result: {},
        };
        const at = draft.calls.findIndex((c) => c.id === part.toolCallId);
        draft.calls = at === -1 ? [...draft.calls, call] : draft.calls.map((c, n) => (n === at ? call : c));
        this.showDraft(message, draft);
        return;
      }
      case "tool-output-available":
      case "tool-output-error": {
        const result = part.type === "tool-output-error" ? { error: part.errorText } : callResult(part.output);
        const status = part.type === "tool-output-error" ? "error" : "ok";
        draft.calls = draft.calls.map((c) => (c.id === part.toolCallId ? { ...c, status, result } : c));
        this.showDraft(message, draft);
        return;
      }
      case "message-metadata":
        draft.metadata = { ...draft.metadata, ...part.messageMetadata };
        return;
      case "error":
        draft.failure = { code: draft.failure?.code ?? null, detail: part.errorText };
        return;
      case "data-error":
        draft.failure = { detail: draft.failure?.detail ?? part.data.detail ?? null, code: part.data.code ?? null };
        return;
      case "finish":
      case "done":
        draft.ended = true;
        return;
      default:
        return; // finish-step, text-end: nothing to show
    }
  }

  /** The draft shown, unless it is held (the message went to a person): then the message alone shows as sent. */
  private showDraft(message: ChatMessage, draft: Draft): void {
    if (!draft.held) {
      this.show(message, draft);
      return;
    }
    const messages = this.state.messages.map((m) =>
      (m.key === message.key && m.status !== "sent" ? { ...m, status: "sent" as const, error: null } : m));
    this.update({ messages, status: statusOf(messages) });
  }

  /**
   * The server kept the message for the person who has the session (no model answered): it shows as sent, under
   * the id the history knows it by, with no reply (a draft of one is taken off); the session is escalated.
   */
  private keptForPerson(message: ChatMessage, storedId: string, replyKey: string | null, draft?: Draft): ChatResponseBody {
    const messages = this.state.messages
      .filter((m) => replyKey === null || m.key !== replyKey)
      .map((m) => (m.key === message.key ? { ...m, id: storedId, status: "sent" as const, error: null } : m));
    this.update({ messages, status: statusOf(messages) });
    if (this.state.sessionStatus !== "escalated") this.escalated("escalated");
    const metadata = draft?.metadata ?? {};
    return {
      session_id: metadata.session_id ?? this.state.sessionId ?? "",
      message: draft?.text ?? "",
      role: "assistant",
      status: "waiting_for_person",
      function_calls: [],
      metadata: {
        tokens: 0, input_tokens: 0, output_tokens: 0, cost_cents: 0, model: metadata.model ?? "",
        provider: metadata.provider ?? "", message_id: storedId, truncated: false, stopped: metadata.stopped ?? null,
        estimated: false,
      },
    };
  }

  /** A model answered: a session this client still took for escalated was handed back to the AI. */
  private answeredByModel(): void {
    if (this.state.sessionStatus === "escalated") this.update({ sessionStatus: "active", takenBy: null });
  }

  /**
   * One look for what a person (or this customer, in another tab) wrote since the last one: it is shown after what
   * is shown, and the session's status and who has it are taken from the page. A look while a message is on its
   * way is dropped (that message's answer comes first, and the next look sees the rest).
   */
  private async lookForPerson(): Promise<void> {
    const sessionId = this.state.sessionId;
    const generation = this.generation;
    if (sessionId === null || busy(this.state.status)) return;
    for (let pages = 0; pages < HANDOFF_PAGES_PER_LOOK; pages++) {
      const after = this.handoffCursor;
      const page = await this.transport.history(sessionId, after ? { after, limit: this.pageSize } : { limit: this.pageSize });
      if (generation !== this.generation || sessionId !== this.state.sessionId || busy(this.state.status)) return;
      this.showNewer(page);
      if (!page.next_after || this.state.sessionStatus !== "escalated") return;
      this.handoffCursor = page.next_after;
    }
  }

  /** A page of newer messages, shown after the log; a message already shown (by id) is not shown twice. */
  private showNewer(page: HistoryBody): void {
    const newest = page.messages[page.messages.length - 1];
    if (newest) this.handoffCursor = newest.id;
    const shown = new Set(this.state.messages.map((m) => m.id));
    const messages = [...this.state.messages];
    for (const m of page.messages) {
      if (shown.has(m.id)) continue;
      // A message this client sent before it knew the API's id for it (an answered turn's) is that one.
      const local = m.role === "user"
        ? messages.findIndex((x) => x.role === "user" && x.id.startsWith("local-") && x.content === m.content)
        : -1;
      const mine = messages[local];
      if (mine) messages[local] = { ...mine, id: m.id };
      else messages.push(fromHistory(m));
    }
    const sessionStatus = page.metadata.status;
    const takenBy = sessionStatus === "escalated" ? page.metadata.taken_by_name ?? null : null;
    const same = messages.length === this.state.messages.length && messages.every((m, i) => m === this.state.messages[i]);
    // Most looks find nothing new: no new state, so nothing showing it renders again.
    if (same && sessionStatus === this.state.sessionStatus && takenBy === this.state.takenBy) return;
    this.update({ messages, status: statusOf(messages), sessionStatus, takenBy });
  }

  /** Look for a person's messages while the session is escalated, and only then. */
  private followHandoff(): void {
    const follow = this.state.sessionStatus === "escalated" && this.state.sessionId !== null && this.state.historyLoaded;
    if (follow && !this.poller.isRunning) {
      this.handoffCursor = newestStoredId(this.state.messages);
      this.poller.start();
    } else if (!follow && this.poller.isRunning) {
      this.poller.stop();
      this.handoffCursor = null;
      if (this.state.handoffCheckFailing || this.state.takenBy !== null) {
        this.state = { ...this.state, handoffCheckFailing: false, takenBy: null };
      }
    }
  }

  /** The draft as the streaming reply after its (now sent) message. */
  private show(message: ChatMessage, draft: Draft): void {
    const reply: ChatMessage = {
      id: draft.key, key: draft.key, role: "assistant", content: draft.text, createdAt: draft.createdAt,
      status: "streaming", rating: null, error: null, functionCalls: draft.calls, stopped: null, estimated: false,
    };
    this.place(message, reply);
  }

  /** Put `reply` in place of the message with its key, or right after `message`; `message` is sent. */
  private place(message: ChatMessage, reply: ChatMessage): void {
    const sent = this.state.messages.map((m) => (m.key === message.key && m.status !== "sent" ? { ...m, status: "sent" as const, error: null } : m));
    let messages: ChatMessage[];
    if (sent.some((m) => m.key === reply.key)) {
      messages = sent.map((m) => (m.key === reply.key ? reply : m));
    } else {
      const at = sent.findIndex((m) => m.key === message.key);
      messages = at === -1 ? [...sent, reply] : [...sent.slice(0, at + 1), reply, ...sent.slice(at + 1)];
    }
    this.update({ messages, status: statusOf(messages) });
  }

  /** The stream's whole reply, stored by the server: shown with the API's id, and answered as POST /chat would. */
  private streamed(message: ChatMessage, draft: Draft, metadata: StreamMetadata): ChatResponseBody {
    // A call the stream never answered did not finish; the stored message says what came of it.
    const calls = draft.calls.map((c): FunctionCall =>
      c.status === "running" ? { ...c, status: "error", result: { error: "The tool did not answer." } } : { ...c, status: c.status });
    const id = metadata.message_id ?? draft.key;
    this.place(message, {
      id, key: draft.key, role: "assistant", content: draft.text, createdAt: draft.createdAt, status: "sent",
      rating: null, error: null, functionCalls: calls, stopped: metadata.stopped ?? null,
      estimated: metadata.estimated ?? false,
    });
    const reply: ChatResponseBody = {
      session_id: metadata.session_id ?? this.state.sessionId ?? "",
      message: draft.text,
      role: "assistant",
      function_calls: calls,
      metadata: {
        tokens: metadata.tokens ?? 0,
        input_tokens: metadata.input_tokens ?? 0,
        output_tokens: metadata.output_tokens ?? 0,
        cost_cents: metadata.cost_cents ?? 0,
        model: metadata.model ?? "",
        provider: metadata.provider ?? "",
        message_id: id,
        truncated: metadata.truncated ?? false,
        stopped: metadata.stopped ?? null,
        estimated: metadata.estimated ?? false,
      },
    };
    if (escalatedBy(reply)) this.escalated("escalated");
    else this.answeredByModel();
    return reply;
  }

  /**
   * The stream dropped after the server had the message: the server still finishes and stores the turn, so look
   * at the history until it has (the message is no longer pending), then show the stored reply in the draft's
   * place. The draft stays shown meanwhile, and stop() still reaches the turn.
   */
  private async recover(message: ChatMessage, draft: Draft, sessionId: string, userMessageId: string,
    generation: number): Promise<ChatResponseBody> {
    for (const delay of this.recoveryDelays) {
      if (delay > 0) await sleep(delay);
      if (generation !== this.generation) throw superseded();
      let page: HistoryBody;
      try {
        page = await this.transport.history(sessionId, { limit: this.pageSize });
      } catch {
        continue; // still offline, perhaps: look again
      }
      if (generation !== this.generation) throw superseded();
      const at = page.messages.findIndex((m) => m.id === userMessageId);
      const asked = page.messages[at];
      if (!asked || asked.status === "pending") continue;
      if (asked.status === "failed") throw this.notSent(message, streamError(draft.failure), generation, draft.key);
      const stored = page.messages.slice(at + 1).find((m) => m.role === "assistant");
      // Kept for the person who has the session: no reply will come, theirs is looked for as any other.
      if (!stored && draft.held && page.metadata.status === "escalated") {
        return this.keptForPerson(message, userMessageId, draft.key, draft);
      }
      if (!stored) continue;
      const answer: ChatMessage = { ...fromHistory(stored), key: draft.key };
      this.place(message, answer);
      const reply: ChatResponseBody = {
        session_id: sessionId,
        message: stored.content,
        role: "assistant",
        function_calls: stored.function_calls ?? [],
        metadata: {
          tokens: stored.tokens, input_tokens: 0, output_tokens: stored.tokens, cost_cents: 0,
          model: page.metadata.model, provider: page.metadata.provider, message_id: stored.id,
          truncated: stored.truncated ?? false, stopped: stored.stopped ?? null, estimated: stored.estimated ?? false,
        },
      };
      if (page.metadata.status !== "active") this.update({ sessionStatus: page.metadata.status });
      else if (escalatedBy(reply)) this.escalated("escalated");
      return reply;
    }
    // The server has not finished in all that time: take the draft off, and let retry() look again.
    const messages = this.state.messages.filter((m) => m.key !== draft.key);
    this.update({ messages, status: statusOf(messages) });
    const error = new ChatApiError(0, {
      code: "reply_not_loaded",
      detail: "The connection dropped while the reply was being written, and it has not been stored yet. Try again in a moment to show it.",
    });
    this.fail("load", error, () => this.recover(message, draft, sessionId, userMessageId, generation));
    throw error;
  }

  /** Follow the reply to a message the history showed pending; one at a time, so a second call for it does nothing. */
  private watchPending(sessionId: string, messageId: string): void {
    const current = this.watch;
    if (current && current.generation === this.generation && current.sessionId === sessionId &&
      current.messageId === messageId) return;
    this.stopWatch();
    this.watch = { sessionId, messageId, generation: this.generation, next: 0, timer: null, looking: false };
    this.scheduleWatch();
  }

  /** The next look, after its delay; none while paused or while a look is on its way. */
  private scheduleWatch(): void {
    const watch = this.watch;
    if (!watch || this.paused || watch.timer !== null || watch.looking) return;
    const delay = this.pendingDelays[watch.next];
    if (delay === undefined) {
      this.watchTimedOut(watch);
      return;
    }
    watch.timer = setTimeout(() => {
      watch.timer = null;
      this.lookForReply(watch).catch(() => undefined);
    }, delay);
  }

  private stopWatch(): void {
    if (this.watch?.timer != null) clearTimeout(this.watch.timer);
    this.watch = null;
  }

  /** One look at the history: the reply shown once it is stored, the message failed if it failed, else look again. */
  private async lookForReply(watch: PendingWatch): Promise<void> {
    if (this.watch !== watch) return;
    watch.looking = true;
    let page: HistoryBody | null = null;
    try {
      page = await this.transport.history(watch.sessionId, { limit: this.pageSize });
    } catch {
      // Offline for a moment, perhaps: look again.
    } finally {
      watch.looking = false;
    }
    if (this.watch !== watch) return;
    if (watch.generation !== this.generation || watch.sessionId !== this.state.sessionId) {
      this.stopWatch();
      return;
    }
    watch.next += 1;
    if (page && this.settle(watch, page)) return;
    this.scheduleWatch();
  }

  /** Whether the page settles the awaited message; then it is shown so (with its reply, or failed). */
  private settle(watch: PendingWatch, page: HistoryBody): boolean {
    const at = page.messages.findIndex((m) => m.id === watch.messageId);
    const asked = page.messages[at];
    if (!asked || asked.status === "pending") return false;
    if (asked.status === "failed") {
      // The turn was released with nothing stored or charged: the message is not sent, and retry() sends it.
      this.watch = null;
      const error = new ChatApiError(0, {
        code: "reply_failed",
        detail: "The assistant could not answer your message. Send it again.",
      }, { kind: "unknown" });
      const messages = this.state.messages.map((m) =>
        (m.id === watch.messageId ? { ...m, status: "failed" as const, error } : m));
      this.update({ messages, status: statusOf(messages) });
      this.fail("send", error, null);
      return true;
    }
    if (!page.messages.slice(at + 1).some((m) => m.role === "assistant")) return false;
    this.watch = null;
    // The reply, and whatever was said after it (in another tab), right after the message; the newest of those may
    // be awaited in turn.
    const awaited = awaitedIn(page);
    const shown = new Set(this.state.messages.map((m) => m.id));
    const later = fromPage(page.messages.slice(at + 1).filter((m) => !shown.has(m.id)), awaited);
    const settled = this.state.messages.map((m) => (m.id === watch.messageId ? { ...fromHistory(asked), key: m.key } : m));
    const place = settled.findIndex((m) => m.id === watch.messageId);
    const messages = place === -1 ? [...settled, ...later]
      : [...settled.slice(0, place + 1), ...later, ...settled.slice(place + 1)];
    this.update({ messages, status: statusOf(messages), sessionStatus: page.metadata.status });
    if (page.metadata.status === "escalated") this.escalated("escalated", page.metadata.taken_by_name ?? null);
    if (awaited && awaited.id !== watch.messageId && later.some((m) => m.id === awaited.id)) {
      this.watchPending(watch.sessionId, awaited.id);
    }
    return true;
  }

  /**
   * Two minutes and the message is still pending (the server has not settled the turn in all the time it gives
   * one): stop waiting, and let retry() look again.
   */
  private watchTimedOut(watch: PendingWatch): void {
    this.watch = null;
    const messages = this.state.messages.map((m) =>
      (m.id === watch.messageId && m.status === "pending" ? { ...m, status: "sent" as const } : m));
    this.update({ messages, status: statusOf(messages) });
    const error = new ChatApiError(0, {
      code: "reply_not_loaded",
      detail: "The reply to your last message has not been stored yet. Try again in a moment to show it.",
    });
    this.fail("load", error, async () => {
      if (watch.generation !== this.generation) return;
      const again = this.state.messages.map((m) =>
        (m.id === watch.messageId && m.status === "sent" ? { ...m, status: "pending" as const } : m));
      this.update({ messages: again, status: statusOf(again) });
      this.watchPending(watch.sessionId, watch.messageId);
    });
  }

  private async requestStop(turn: LiveTurn, sessionId: string): Promise<void> {
    const stopReply = this.transport.stopReply;
    if (!stopReply) {
      turn.controller.abort(); // no stop route: stop reading; the stored reply comes from the history
      return;
    }
    try {
      await stopReply.call(this.transport, sessionId);
    } catch (e) {
      const error = toChatError(e);
      if (this.live === turn) {
        turn.stopRequested = false;
        this.update({ canStop: true, stopping: false });
        this.fail("stop", error, () => this.stop());
      }
      throw error;
    }
    if (this.live !== turn) return;
    // The server ends the reply within about a second; a stream that goes on past the grace is read no further,
    // and the stored reply is shown from the history instead.
    turn.stopTimer = setTimeout(() => turn.controller.abort(), this.stopGraceMs);
  }

  private endTurn(turn: LiveTurn): void {
    if (turn.stopTimer !== null) clearTimeout(turn.stopTimer);
    if (this.live !== turn) return;
    this.live = null;
    this.update({ canStop: false, stopping: false, ...this.clearedError("stop") });
  }

  /** The message was not answered: marked failed with the error (a streamed draft of it taken off), which is returned. */
  private notSent(message: ChatMessage, e: unknown, generation: number, replyKey: string | null): ChatApiError {
    const error = toChatError(e);
    if (generation !== this.generation) return error;
    const messages = this.state.messages
      .filter((m) => replyKey === null || m.key !== replyKey)
      .map((m) => (m.key === message.key ? { ...m, status: "failed" as const, error } : m));
    this.update({ messages, ...(error.sessionStatus ? { sessionStatus: error.sessionStatus } : {}) });
    this.fail("send", error, null);
    return error;
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
    try {
      this.storage?.setItem(this.storageKey, sessionId);
    } catch {
      // Storage full or blocked: the conversation still works, it just will not resume after a reload.
    }
    this.update({ sessionId, sessionStatus: "active", historyLoaded: true });
  }

  private forgetSession(): void {
    this.generation += 1;
    if (this.live) {
      // The server finishes the turn in the old session; nobody here reads it any more.
      if (this.live.stopTimer !== null) clearTimeout(this.live.stopTimer);
      this.live.controller.abort();
      this.live = null;
    }
    this.stopWatch();
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
    const now = statusOf(this.state.messages);
    const status = busy(now) ? now : "error";
    this.update({ error, failedAction: action, status });
  }

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    this.followHandoff();
    for (const listener of [...this.listeners]) listener();
  }
}
