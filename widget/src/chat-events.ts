/**
 * The events of a conversation, derived in one place from the changes of a ChatClient's state: a message shown, the
 * conversation handed to a person, the conversation deleted, an action that failed. Each is told once, whatever renders the state and however
 * often; the callbacks of <AIChatWidget> and useAIChat are these events.
 */
import type { ChatClient } from "./chat-client";
import type { ChatApiError } from "./chat-error";
import { TAKEN_BY_PERSON, type ChatAction, type ChatMessage, type ChatState } from "./chat-state";

/**
 * How a conversation came to a person: `customer`, they asked for one (the widget's "Talk to a person",
 * escalateSession(), or a request of theirs elsewhere that this client learned of when it sent a message);
 * `assistant`, the model handed it over (its reply called escalate_to_human, or stopped `escalated`); `support`, a
 * person of the support team took it while the assistant was answering (the reply stopped `taken_by_person`).
 */
export type ChatEscalationSource = "customer" | "assistant" | "support";

/** The conversation was handed to a person of the support team. */
export interface ChatEscalation {
  /** Who handed it over. */
  by: ChatEscalationSource;
  /** The model's reply that handed it over (`assistant`, `support`); null when the customer asked. */
  reply: ChatMessage | null;
  /** The session handed over. */
  sessionId: string | null;
  /** The person who has it, when one took it already (usually null: the request waits for one). */
  takenBy: string | null;
}

/** One event of a conversation, in the order it happened. */
export type ChatEvent =
  | { type: "message"; message: ChatMessage }
  | { type: "escalate"; escalation: ChatEscalation }
  | { type: "delete"; sessionId: string }
  | { type: "error"; error: ChatApiError; action: ChatAction };

/** The callbacks for a conversation's events; each one is optional. */
export interface ChatEventHandlers {
  /**
   * A message was shown, once per message (never per streamed delta), in the order of the log: the customer's own
   * message once the server has it (a streamed one when its reply starts; a refused one not, until a retry
   * succeeds); a reply of the assistant once it is complete and stored (`status` `sent`, with the API's `id`; a
   * stopped one too, with `stopped: "stopped"`); a person's reply, and their joined/left markers (`handoff` set), as
   * they come in. Messages loaded from the history (the widget opening on an earlier conversation, "Show earlier
   * messages") are not told, nor a reply a person took over before it said anything (the widget shows none).
   */
  onMessage?: (message: ChatMessage) => void;
  /**
   * The conversation was handed to a person: by the customer ("Talk to a person"), or by the model's hand-over
   * (escalate_to_human), once each time it happens (after a reply that handed it over, that reply's onMessage
   * comes first). A conversation that was loaded already with a person is not told.
   */
  onEscalate?: (escalation: ChatEscalation) => void;
  /**
   * The conversation was deleted ("Delete conversation", deleteSession()): the id of the session that is gone
   * (deleted now, or found gone already), once, after the conversation shown was cleared. A conversation that was
   * only left (startNewSession) is not told.
   */
  onDelete?: (sessionId: string) => void;
  /**
   * An action failed: the error the UI shows (its `message` is the API's sentence, `code` the API's code) and the
   * action it came from (`send`, `load`, `older`, `feedback`, `rate`, `escalate`, `stop`, `withdraw`, `delete`).
   * Once per failure; a retry that fails again is told again.
   */
  onError?: (error: ChatApiError, action: ChatAction) => void;
}

/** Whether the widget shows `message`: a reply a person took over before it said or did anything, it does not. */
function shown(message: ChatMessage): boolean {
  return !(message.role === "assistant" && message.stopped === TAKEN_BY_PERSON && message.functionCalls.length === 0);
}

/** Who a stored reply handed the conversation to a person through, if it did. */
function handedOverBy(reply: ChatMessage): ChatEscalationSource | null {
  if (reply.role !== "assistant") return null;
  if (reply.stopped === TAKEN_BY_PERSON) return "support";
  // As chat-state's escalatedBy reads the API's answer: it stopped there, or escalate_to_human ran.
  const escalated = reply.stopped === "escalated" ||
    reply.functionCalls.some((call) => call.name === "escalate_to_human" && call.status === "ok");
  return escalated ? "assistant" : null;
}

/**
 * Compares each state of a conversation with the one before it and says what happened in between. Its first state
 * is what was there before anything was watched: none of its messages is told.
 */
export class ChatEventTracker {
  private previous: ChatState;
  /** Keys of the messages told, or never to be told (there before the watch, loaded from the history). */
  private readonly settled = new Set<string>();
  /** The latest stored reply, when it handed the conversation over: the escalation that follows is its. */
  private handover: { reply: ChatMessage; by: ChatEscalationSource } | null = null;

  constructor(initial: ChatState) {
    this.previous = initial;
    for (const m of initial.messages) this.settled.add(m.key);
  }

  /**
   * The events between the last state and `next`, in order: messages (oldest first), an escalation, a deletion, an
   * error.
   */
  next(next: ChatState): ChatEvent[] {
    const previous = this.previous;
    if (next === previous) return [];
    this.previous = next;
    const events: ChatEvent[] = [];
    const before = new Set(previous.messages.map((m) => m.key));
    // The stored session's history arrived (load() is what sets historyLoaded): what its page brought was said
    // before, and is not told; a message typed while it loaded was there before it, and is.
    const loaded = !previous.historyLoaded && next.historyLoaded;
    // A page of earlier messages goes in front of the first one shown.
    const first = previous.messages[0]?.key;
    const firstAt = first === undefined ? -1 : next.messages.findIndex((m) => m.key === first);
    next.messages.forEach((m, at) => {
      if (this.settled.has(m.key)) return;
      const fresh = !before.has(m.key);
      if (fresh && (loaded || at < firstAt)) {
        this.settled.add(m.key);
        return;
      }
      if (m.status !== "sent") return;
      this.settled.add(m.key);
      if (m.role === "assistant") {
        const by = handedOverBy(m);
        this.handover = by ? { reply: m, by } : null;
      }
      if (shown(m)) events.push({ type: "message", message: m });
    });
    if (next.sessionStatus === "escalated" && previous.sessionStatus !== "escalated" && !loaded) {
      const handover = this.handover;
      events.push({
        type: "escalate",
        escalation: {
          by: handover?.by ?? "customer",
          reply: handover?.reply ?? null,
          sessionId: next.sessionId,
          takenBy: next.takenBy,
        },
      });
    }
    // A hand-over is told with the escalation right after its reply, never with a later one.
    if (next.sessionStatus !== previous.sessionStatus) this.handover = null;
    if (next.deletedSessionId !== null && next.deletedSessionId !== previous.deletedSessionId) {
      events.push({ type: "delete", sessionId: next.deletedSessionId });
    }
    if (next.error !== null && next.error !== previous.error) {
      events.push({ type: "error", error: next.error, action: next.failedAction ?? "send" });
    }
    return events;
  }
}

/** Calls the handler an event is for. */
function dispatch(handlers: ChatEventHandlers, event: ChatEvent): void {
  switch (event.type) {
    case "message":
      handlers.onMessage?.(event.message);
      break;
    case "escalate":
      handlers.onEscalate?.(event.escalation);
      break;
    case "delete":
      handlers.onDelete?.(event.sessionId);
      break;
    case "error":
      handlers.onError?.(event.error, event.action);
      break;
  }
}

/**
 * Call a host's callback: one that throws is reported as an uncaught error would be (reportError), and whatever
 * called it (the client's notifications, an inbox action) goes on as if it had returned.
 */
export function tell(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else setTimeout(() => {
      throw error;
    });
  }
}

/**
 * Tell `handlers()` (read at each event, so the latest handlers are called) the events of `client`'s conversation
 * from now on; returns the function that stops. An event is told after the state has changed (getSnapshot() has
 * it), and events raised by a handler (one that sends a message, say) are told after the ones already due, in
 * order. A handler that throws is reported (reportError) and the others are still called.
 */
export function watchChatEvents(client: ChatClient, handlers: () => ChatEventHandlers): () => void {
  const tracker = new ChatEventTracker(client.getSnapshot());
  const queue: ChatEvent[] = [];
  let draining = false;
  let watching = true;
  const unsubscribe = client.subscribe(() => {
    queue.push(...tracker.next(client.getSnapshot()));
    if (draining) return;
    draining = true;
    try {
      for (let event = queue.shift(); event && watching; event = queue.shift()) {
        const due = event;
        tell(() => dispatch(handlers(), due));
      }
    } finally {
      draining = false;
      queue.length = 0;
    }
  });
  return () => {
    watching = false;
    unsubscribe();
  };
}
