/**
 * A user's message sent and its reply shown: with POST /chat, the reply whole; with POST /chat/stream, the reply
 * as its parts arrive (read into a draft by stream-reply), stop() ending it, and the stored reply read from the
 * history when the stream drops. The server finishes and stores a turn whatever the client does, so nothing here
 * sends a message twice under two Idempotency-Keys.
 */
import type { ChatRequestBody, ChatResponseBody, HistoryBody } from "./api-types";
import { ChatApiError, toChatError } from "./chat-error";
import {
  escalatedBy,
  fromHistory,
  fromReply,
  markedSent,
  statusOf,
  withReply,
  type ChatAction,
  type ChatMessage,
  type ChatState,
  type ChatStateHost,
} from "./chat-state";
import { applyPart, keptReply, newDraft, storedReply, streamError, type Draft, type DraftChange } from "./stream-reply";
import type { ChatTransport } from "./transport";
import type { StreamMetadata, UiMessagePart } from "./ui-message-stream";

/** What a delivery needs of the client whose conversation it shows the reply in. */
export interface MessageDeliveryHost extends ChatStateHost {
  /** Record a failure, with what retry() does about it (null: nothing). */
  fail(action: ChatAction, error: ChatApiError, again: (() => Promise<unknown>) | null): void;
  /** What a success of `action` clears of an error recorded for it. */
  clearedError(action: ChatAction): Partial<ChatState>;
  /** The session was handed to a person (by the model, or it was before the message went out). */
  escalated(): void;
  /** The session a message without one went to, named by the API. */
  adoptSession(sessionId: string): void;
  /** The message's Idempotency-Key: the same for every try of it, so it is answered and charged once. */
  idempotencyKey(message: ChatMessage): string;
  /** The server has the message: its Idempotency-Key is done with. */
  received(message: ChatMessage): void;
}

export interface MessageDeliveryOptions {
  transport: ChatTransport;
  /** Messages per history page read after a dropped stream. */
  pageSize: number;
  /** Ids for local messages. */
  newId: () => string;
  now: () => Date;
  /** How long (ms) to wait before each look at the history for the reply of a stream that dropped. */
  recoveryDelays?: readonly number[];
  /** How long (ms) a stopped reply may go on streaming before it is read no further. */
  stopGraceMs?: number;
}

const RECOVERY_DELAYS = [0, 500, 1000, 2000, 3000, 5000, 5000, 5000, 5000, 5000, 10000, 10000, 10000];
// The server ends a stopped reply within STOP_CHECK_SECONDS (1 s) of the stop, plus a word's wait for the provider.
const STOP_GRACE_MS = 5000;

/** A streamed turn being read: what stop() and abandon() act on. */
interface LiveTurn {
  readonly controller: AbortController;
  /** The session the message went to, once known (a new session's is named by `start`). */
  sessionId: string | null;
  stopRequested: boolean;
  stopTimer: ReturnType<typeof setTimeout> | null;
}

/** An answer to a conversation that was left (startNewSession) before it came. */
function superseded(): ChatApiError {
  return new ChatApiError(0, { code: "superseded", detail: "A new conversation was started." }, { kind: "unknown" });
}

/**
 * A send refused with 409 session_changed (a person handed the session back between the server's read and its
 * write; nothing was kept or charged) is sent once more, with the same Idempotency-Key.
 */
async function againIfChanged<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    if (!(e instanceof ChatApiError && e.code === "session_changed")) throw e;
    return send();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a client's messages, one at a time as its queue hands them over, and shows their replies. */
export class MessageDelivery {
  private readonly transport: ChatTransport;
  private readonly recoveryDelays: readonly number[];
  private readonly stopGraceMs: number;
  /** The streamed turn being read, if any. */
  private live: LiveTurn | null = null;

  constructor(private readonly host: MessageDeliveryHost, private readonly options: MessageDeliveryOptions) {
    this.transport = options.transport;
    this.recoveryDelays = options.recoveryDelays ?? RECOVERY_DELAYS;
    this.stopGraceMs = options.stopGraceMs ?? STOP_GRACE_MS;
  }

  /**
   * Send `message` (as `body`), streamed or not, and show its reply; resolves with the API's answer, rejects with
   * a ChatApiError (the message then shows failed). A message of a conversation left since (`generation` is not
   * the host's) is not sent.
   */
  async send(message: ChatMessage, body: ChatRequestBody, generation: number, stream: boolean): Promise<ChatResponseBody> {
    if (generation !== this.host.generation()) throw superseded();
    if (stream) return this.sendStreamed(message, body, generation);
    try {
      const key = this.host.idempotencyKey(message);
      const reply = await againIfChanged(() => this.transport.chat(body, { idempotencyKey: key }));
      if (generation !== this.host.generation()) return reply;
      this.host.received(message);
      if (body.session_id == null) this.host.adoptSession(reply.session_id);
      if (reply.status === "waiting_for_person") {
        this.keptForPerson(message, reply.metadata.message_id, null);
        return reply;
      }
      const messages = [
        ...this.host.state().messages.map((m) => (m.id === message.id ? { ...m, status: "sent" as const } : m)),
        fromReply(reply, this.options.now().toISOString()),
      ];
      this.host.update({ messages, status: statusOf(messages) });
      this.answered(reply);
      return reply;
    } catch (e) {
      throw this.notSent(message, e, generation, null);
    }
  }

  /**
   * End the streaming reply where it is: the server stops the model and stores the reply so far (marked
   * `stopped`). Before the stream has named its session, the stop is sent once it has. Does nothing when no reply
   * is streaming.
   */
  stop(): Promise<void> {
    const turn = this.live;
    if (!turn || turn.stopRequested) return Promise.resolve();
    turn.stopRequested = true;
    this.host.update({ canStop: false, stopping: true, ...this.host.clearedError("stop") });
    return turn.sessionId === null ? Promise.resolve() : this.requestStop(turn, turn.sessionId);
  }

  /** Read the streaming reply no further: the conversation was left (the server still finishes the turn). */
  abandon(): void {
    if (!this.live) return;
    if (this.live.stopTimer !== null) clearTimeout(this.live.stopTimer);
    this.live.controller.abort();
    this.live = null;
  }

  /**
   * A message sent to POST /chat/stream: the reply shows as its parts arrive. A refusal before the stream is a
   * failed message, as with POST /chat. A stream that drops (or ends without `finish`) is not sent again (the
   * server finishes and stores the turn whatever the client does): the stored reply is read from the history.
   */
  private async sendStreamed(message: ChatMessage, body: ChatRequestBody, generation: number): Promise<ChatResponseBody> {
    const stream = this.transport.chatStream;
    if (!stream) throw new Error("the transport cannot stream");
    const turn: LiveTurn = {
      controller: new AbortController(),
      sessionId: body.session_id ?? null,
      stopRequested: false,
      stopTimer: null,
    };
    this.live = turn;
    const held = this.host.state().sessionStatus === "escalated";
    // A message kept for a person has no reply to stop.
    this.host.update({ canStop: !held, stopping: false });
    const replyKey = `local-${this.options.newId()}`;
    // Kept until the stream starts: a retry of a message whose stream never began may have reached the server
    // anyway, and under the same key it is answered from that turn, not run and charged again.
    const idempotencyKey = this.host.idempotencyKey(message);
    try {
      let parts: AsyncIterable<UiMessagePart>;
      try {
        parts = await againIfChanged(() => stream.call(this.transport, body, {
          signal: turn.controller.signal, idempotencyKey,
        }));
      } catch (e) {
        throw this.notSent(message, e, generation, null);
      }
      const draft = newDraft(replyKey, this.options.now().toISOString(), held);
      let dropped: unknown = null;
      try {
        for await (const part of parts) {
          if (generation !== this.host.generation()) break;
          // As the AI SDK's chat, nothing after the first `error` part is read; leaving the loop releases the body.
          if (this.read(turn, message, draft, part) === "failed") break;
        }
      } catch (e) {
        dropped = e; // the connection dropped, or the stop's grace ran out
      }
      if (generation !== this.host.generation()) throw superseded();
      const stored = draft.metadata?.message_id;
      if (stored && stored === draft.userMessageId) return this.keptStreamed(message, draft, stored);
      if (draft.metadata?.message_id) return this.streamed(message, draft, draft.metadata);
      if (draft.ended && draft.failure) {
        // The turn failed before any reply was stored: the message is kept as failed, nothing charged.
        throw this.notSent(message, streamError(draft.failure), generation, replyKey);
      }
      if (draft.userMessageId === null || turn.sessionId === null) {
        throw this.notSent(message, dropped ?? new ChatApiError(0, null), generation, replyKey);
      }
      return await this.recover(message, draft, turn.sessionId, draft.userMessageId, generation);
    } finally {
      this.endTurn(turn);
    }
  }

  /** One part of the stream, read into the draft reply; the state shows it, and the session it names is adopted. */
  private read(turn: LiveTurn, message: ChatMessage, draft: Draft, part: UiMessagePart): DraftChange {
    const change = applyPart(draft, part);
    switch (change) {
      case "started":
        if (turn.sessionId === null && draft.sessionId !== null) {
          turn.sessionId = draft.sessionId;
          this.host.adoptSession(draft.sessionId);
        }
        // The server has the message now: it is sent, and its reply (unless it is kept for a person) is on its way.
        this.host.received(message);
        this.showDraft(message, draft);
        if (turn.stopRequested && turn.sessionId !== null) this.requestStop(turn, turn.sessionId).catch(() => undefined);
        break;
      case "unheld":
        this.host.update({ canStop: !turn.stopRequested });
        this.show(message, draft);
        break;
      case "content":
        this.showDraft(message, draft);
        break;
      default:
        break;
    }
    return change;
  }

  /** The draft shown, unless it is held (the message went to a person): then the message alone shows as sent. */
  private showDraft(message: ChatMessage, draft: Draft): void {
    if (!draft.held) {
      this.show(message, draft);
      return;
    }
    const messages = markedSent(this.host.state().messages, message.key);
    this.host.update({ messages, status: statusOf(messages) });
  }

  /** The draft as the streaming reply after its (now sent) message. */
  private show(message: ChatMessage, draft: Draft): void {
    this.place(message, {
      id: draft.key, key: draft.key, role: "assistant", content: draft.text, createdAt: draft.createdAt,
      status: "streaming", rating: null, error: null, functionCalls: draft.calls, stopped: null, estimated: false,
    });
  }

  /** Put `reply` in place of the message with its key, or right after `message`; `message` is sent. */
  private place(message: ChatMessage, reply: ChatMessage): void {
    const messages = withReply(this.host.state().messages, message, reply);
    this.host.update({ messages, status: statusOf(messages) });
  }

  /**
   * The server kept the message for the person who has the session (no model answered): it shows as sent, under
   * the id the history knows it by, with no reply (a draft of one, keyed `replyKey`, is taken off); the session is
   * escalated.
   */
  private keptForPerson(message: ChatMessage, storedId: string, replyKey: string | null): void {
    const messages = this.host.state().messages
      .filter((m) => replyKey === null || m.key !== replyKey)
      .map((m) => (m.key === message.key ? { ...m, id: storedId, status: "sent" as const, error: null } : m));
    this.host.update({ messages, status: statusOf(messages) });
    if (this.host.state().sessionStatus !== "escalated") this.host.escalated();
  }

  /** A streamed message kept for the person: shown so, and answered as POST /chat answers one. */
  private keptStreamed(message: ChatMessage, draft: Draft, storedId: string): ChatResponseBody {
    this.keptForPerson(message, storedId, draft.key);
    return keptReply(draft, storedId, this.host.state().sessionId ?? "");
  }

  /**
   * A model answered: when it handed the conversation to a person the session is escalated on the server, as
   * after escalateSession(), and the client follows it the same way; else a session this client still took for
   * escalated was handed back to the AI.
   */
  private answered(reply: ChatResponseBody): void {
    if (escalatedBy(reply)) this.host.escalated();
    else if (this.host.state().sessionStatus === "escalated") this.host.update({ sessionStatus: "active", takenBy: null });
  }

  /** The stream's whole reply, stored by the server: shown with the API's id, and answered as POST /chat would. */
  private streamed(message: ChatMessage, draft: Draft, metadata: StreamMetadata): ChatResponseBody {
    const reply = storedReply(draft, metadata, this.host.state().sessionId ?? "");
    this.place(message, { ...fromReply(reply, draft.createdAt), key: draft.key });
    this.answered(reply);
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
      if (generation !== this.host.generation()) throw superseded();
      let page: HistoryBody;
      try {
        page = await this.transport.history(sessionId, { limit: this.options.pageSize });
      } catch {
        continue; // still offline, perhaps: look again
      }
      if (generation !== this.host.generation()) throw superseded();
      const at = page.messages.findIndex((m) => m.id === userMessageId);
      const asked = page.messages[at];
      if (!asked || asked.status === "pending") continue;
      if (asked.status === "failed") throw this.notSent(message, streamError(draft.failure), generation, draft.key);
      const stored = page.messages.slice(at + 1).find((m) => m.role === "assistant");
      // Kept for the person who has the session: no reply will come, theirs is looked for as any other.
      if (!stored && draft.held && page.metadata.status === "escalated") {
        return this.keptStreamed(message, draft, userMessageId);
      }
      if (!stored) continue;
      this.place(message, { ...fromHistory(stored), key: draft.key });
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
      if (page.metadata.status !== "active") this.host.update({ sessionStatus: page.metadata.status });
      else if (escalatedBy(reply)) this.host.escalated();
      return reply;
    }
    // The server has not finished in all that time: take the draft off, and let retry() look again.
    const messages = this.host.state().messages.filter((m) => m.key !== draft.key);
    this.host.update({ messages, status: statusOf(messages) });
    const error = new ChatApiError(0, {
      code: "reply_not_loaded",
      detail: "The connection dropped while the reply was being written, and it has not been stored yet. Try again in a moment to show it.",
    });
    this.host.fail("load", error, () => this.recover(message, draft, sessionId, userMessageId, generation));
    throw error;
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
        this.host.update({ canStop: true, stopping: false });
        this.host.fail("stop", error, () => this.stop());
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
    this.host.update({ canStop: false, stopping: false, ...this.host.clearedError("stop") });
  }

  /** The message was not answered: marked failed with the error (a streamed draft of it taken off), which is returned. */
  private notSent(message: ChatMessage, e: unknown, generation: number, replyKey: string | null): ChatApiError {
    const error = toChatError(e);
    if (generation !== this.host.generation()) return error;
    const messages = this.host.state().messages
      .filter((m) => replyKey === null || m.key !== replyKey)
      .map((m) => (m.key === message.key ? { ...m, status: "failed" as const, error } : m));
    this.host.update({ messages, ...(error.sessionStatus ? { sessionStatus: error.sessionStatus } : {}) });
    this.host.fail("send", error, null);
    return error;
  }
}
