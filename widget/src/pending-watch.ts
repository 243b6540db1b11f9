/**
 * The watch for a reply still being written when the history was loaded: the page that sent its message was
 * reloaded mid-reply (or another tab sent it), and the server finishes and stores the turn whatever the page does.
 * The history is looked at, one look at a time, until the message is answered or failed, or the server's time for
 * a turn has passed.
 */
import type { HistoryBody } from "./api-types";
import { ChatApiError } from "./chat-error";
import { awaitedIn, fromHistory, fromPage, statusOf, type ChatAction, type ChatStateHost } from "./chat-state";

/** What the watch needs of the client it shows the reply in; a watch of a conversation left looks no more. */
export interface PendingWatchHost extends ChatStateHost {
  /** The session's latest history page. */
  latest(sessionId: string): Promise<HistoryBody>;
  /** Record a failure, with what retry() does about it (null: nothing). */
  fail(action: ChatAction, error: ChatApiError, again: (() => Promise<unknown>) | null): void;
  /** The session was handed to a person (as the settled turn's page says). */
  escalated(takenBy: string | null): void;
}

/** 0.5 s, 1 s, 2 s, then every 3 s: 120.5 s in all, as long as the server lets a turn run (STREAM_DEADLINE_SECONDS). */
export const PENDING_DELAYS: readonly number[] = [500, 1000, 2000, ...Array.from({ length: 39 }, () => 3000)];

/** One message whose reply is looked for. */
interface Watched {
  readonly sessionId: string;
  readonly messageId: string;
  readonly generation: number;
  /** Which of the delays comes next: the looks are counted across pauses, so two minutes stay two minutes. */
  next: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** A look at the history is on its way. */
  looking: boolean;
}

/** Follows the reply to one pending message at a time; the looks pause while nothing shows the conversation. */
export class PendingWatch {
  private watched: Watched | null = null;
  private paused = false;

  /** `delays` (ms): the wait before each look; when they run out the watch gives up. */
  constructor(private readonly host: PendingWatchHost, private readonly delays: readonly number[] = PENDING_DELAYS) {}

  /** Follow the reply to `messageId`; a second call for the message followed already does nothing. */
  watch(sessionId: string, messageId: string): void {
    const current = this.watched;
    if (current && current.generation === this.host.generation() && current.sessionId === sessionId &&
      current.messageId === messageId) return;
    this.stop();
    this.watched = { sessionId, messageId, generation: this.host.generation(), next: 0, timer: null, looking: false };
    this.schedule();
  }

  /** No more looks until resume(); a look on its way still ends. */
  pause(): void {
    this.paused = true;
    if (this.watched?.timer != null) {
      clearTimeout(this.watched.timer);
      this.watched.timer = null;
    }
  }

  /** Look again, after the delay that was next when the looks paused. */
  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Follow nothing (the conversation was left). */
  stop(): void {
    if (this.watched?.timer != null) clearTimeout(this.watched.timer);
    this.watched = null;
  }

  /** The next look, after its delay; none while paused or while a look is on its way. */
  private schedule(): void {
    const watched = this.watched;
    if (!watched || this.paused || watched.timer !== null || watched.looking) return;
    const delay = this.delays[watched.next];
    if (delay === undefined) {
      this.timedOut(watched);
      return;
    }
    watched.timer = setTimeout(() => {
      watched.timer = null;
      this.look(watched).catch(() => undefined);
    }, delay);
  }

  /** One look at the history: the reply shown once it is stored, the message failed if it failed, else look again. */
  private async look(watched: Watched): Promise<void> {
    if (this.watched !== watched) return;
    watched.looking = true;
    let page: HistoryBody | null = null;
    try {
      page = await this.host.latest(watched.sessionId);
    } catch {
      // Offline for a moment, perhaps: look again.
    } finally {
      watched.looking = false;
    }
    if (this.watched !== watched) return;
    if (watched.generation !== this.host.generation() || watched.sessionId !== this.host.state().sessionId) {
      this.stop();
      return;
    }
    watched.next += 1;
    if (page && this.settle(watched, page)) return;
    this.schedule();
  }

  /** Whether the page settles the awaited message; then it is shown so (with its reply, or failed). */
  private settle(watched: Watched, page: HistoryBody): boolean {
    const at = page.messages.findIndex((m) => m.id === watched.messageId);
    const asked = page.messages[at];
    if (!asked || asked.status === "pending") return false;
    const state = this.host.state();
    if (asked.status === "failed") {
      // The turn was released with nothing stored or charged: the message is not sent, and retry() sends it.
      this.watched = null;
      const error = new ChatApiError(0, {
        code: "reply_failed",
        detail: "The assistant could not answer your message. Send it again.",
      }, { kind: "unknown" });
      const messages = state.messages.map((m) =>
        (m.id === watched.messageId ? { ...m, status: "failed" as const, error } : m));
      this.host.update({ messages, status: statusOf(messages) });
      this.host.fail("send", error, null);
      return true;
    }
    if (!page.messages.slice(at + 1).some((m) => m.role === "assistant")) return false;
    this.watched = null;
    // The reply, and whatever was said after it (in another tab), right after the message; the newest of those may
    // be awaited in turn.
    const awaited = awaitedIn(page);
    const shown = new Set(state.messages.map((m) => m.id));
    const later = fromPage(page.messages.slice(at + 1).filter((m) => !shown.has(m.id)), awaited);
    const settled = state.messages.map((m) => (m.id === watched.messageId ? { ...fromHistory(asked), key: m.key } : m));
    const place = settled.findIndex((m) => m.id === watched.messageId);
    const messages = place === -1 ? [...settled, ...later]
      : [...settled.slice(0, place + 1), ...later, ...settled.slice(place + 1)];
    this.host.update({ messages, status: statusOf(messages), sessionStatus: page.metadata.status });
    if (page.metadata.status === "escalated") this.host.escalated(page.metadata.taken_by_name ?? null);
    if (awaited && awaited.id !== watched.messageId && later.some((m) => m.id === awaited.id)) {
      this.watch(watched.sessionId, awaited.id);
    }
    return true;
  }

  /**
   * Two minutes and the message is still pending (the server has not settled the turn in all the time it gives
   * one): stop waiting, and let retry() look again.
   */
  private timedOut(watched: Watched): void {
    this.watched = null;
    const messages = this.host.state().messages.map((m) =>
      (m.id === watched.messageId && m.status === "pending" ? { ...m, status: "sent" as const } : m));
    this.host.update({ messages, status: statusOf(messages) });
    const error = new ChatApiError(0, {
      code: "reply_not_loaded",
      detail: "The reply to your last message has not been stored yet. Try again in a moment to show it.",
    });
    this.host.fail("load", error, async () => {
      if (watched.generation !== this.host.generation()) return;
      const again = this.host.state().messages.map((m) =>
        (m.id === watched.messageId && m.status === "sent" ? { ...m, status: "pending" as const } : m));
      this.host.update({ messages: again, status: statusOf(again) });
      this.watch(watched.sessionId, watched.messageId);
    });
  }
}
