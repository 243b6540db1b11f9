/**
 * Following a conversation a person of the support team has (the session is escalated): GET …/history?after=<the
 * newest message seen> every few seconds, what it finds shown after the log, and the session's status and who has
 * it taken from each page. The looks begin when the session becomes escalated and end when it no longer is.
 */
import type { HistoryBody } from "./api-types";
import { busy, fromHistory, newestStoredId, statusOf, type ChatMessage, type ChatState, type ChatStateHost } from "./chat-state";
import { HandoffPoller, type VisibilitySource } from "./handoff-poller";
import type { HistoryOptions } from "./transport";

/** What the follower needs of the client whose conversation it follows; a page for a conversation left is dropped. */
export interface HandoffFollowerHost extends ChatStateHost {
  /** GET …/history, with the client's page size. */
  history(sessionId: string, options: Pick<HistoryOptions, "after">): Promise<HistoryBody>;
}

export interface HandoffFollowerOptions {
  /** How often (ms) to look; 4 s by default. */
  intervalMs?: number;
  /** Passed to the poller: looks wait while the page is hidden (the document by default). */
  visibility?: VisibilitySource | null;
}

// One GET …/history?after= per look, a single cheap query: a person's reply shows within a few seconds.
const HANDOFF_POLL_MS = 4000;
// A blip of the network is not worth a word; this many failed looks in a row are.
const HANDOFF_FAILURES_SHOWN = 3;
// Pages of newer messages read in one look (next_after); the rest wait for the next look.
const HANDOFF_PAGES_PER_LOOK = 5;

/**
 * The messages of a page of newer ones shown after `shown`; a message already shown (by id) is not shown twice,
 * and a message this client sent before it knew the API's id for it (an answered turn's) takes that id.
 */
export function withNewer(shown: readonly ChatMessage[], page: HistoryBody): ChatMessage[] {
  const ids = new Set(shown.map((m) => m.id));
  const messages = [...shown];
  for (const m of page.messages) {
    if (ids.has(m.id)) continue;
    const local = m.role === "user"
      ? messages.findIndex((x) => x.role === "user" && x.id.startsWith("local-") && x.content === m.content)
      : -1;
    const mine = messages[local];
    if (mine) messages[local] = { ...mine, id: m.id };
    else messages.push(fromHistory(m));
  }
  return messages;
}

/** Looks for a person's messages while the session is escalated, and only then. */
export class HandoffFollower {
  private readonly poller: HandoffPoller;
  /** The newest message a look has seen: the next look asks for the ones after it. */
  private cursor: string | null = null;

  constructor(private readonly host: HandoffFollowerHost, options: HandoffFollowerOptions = {}) {
    this.poller = new HandoffPoller({
      intervalMs: options.intervalMs ?? HANDOFF_POLL_MS,
      visibility: options.visibility,
      look: () => this.look(),
      onLooked: (failures) => {
        const failing = failures >= HANDOFF_FAILURES_SHOWN;
        if (failing !== this.host.state().handoffCheckFailing) this.host.update({ handoffCheckFailing: failing });
      },
    });
  }

  /**
   * Start or end the looks as `state` says (after every change of it): on while the loaded session is escalated.
   * Returns what ending them clears of the state (who had the session, failed looks), or null for no change.
   */
  follow(state: ChatState): Partial<ChatState> | null {
    const follow = state.sessionStatus === "escalated" && state.sessionId !== null && state.historyLoaded;
    if (follow && !this.poller.isRunning) {
      this.cursor = newestStoredId(state.messages);
      this.poller.start();
    } else if (!follow && this.poller.isRunning) {
      this.poller.stop();
      this.cursor = null;
      if (state.handoffCheckFailing || state.takenBy !== null) return { handoffCheckFailing: false, takenBy: null };
    }
    return null;
  }

  /** No looks until resume() (nothing shows the conversation). */
  pause(): void {
    this.poller.pause();
  }

  /** Look at once, and on from there. */
  resume(): void {
    this.poller.resume();
  }

  /** Look now rather than at the next tick (a withdrawal refused: the person's joining is there to show). */
  lookNow(): void {
    this.poller.lookNow();
  }

  setInterval(ms: number): void {
    this.poller.setInterval(ms);
  }

  /**
   * One look for what a person (or this customer, in another tab) wrote since the last one. A look while a
   * message is on its way is dropped (that message's answer comes first, and the next look sees the rest).
   */
  private async look(): Promise<void> {
    const sessionId = this.host.state().sessionId;
    const generation = this.host.generation();
    if (sessionId === null || busy(this.host.state().status)) return;
    for (let pages = 0; pages < HANDOFF_PAGES_PER_LOOK; pages++) {
      const after = this.cursor;
      const page = await this.host.history(sessionId, after ? { after } : {});
      const state = this.host.state();
      if (generation !== this.host.generation() || sessionId !== state.sessionId || busy(state.status)) return;
      this.show(page);
      if (!page.next_after || this.host.state().sessionStatus !== "escalated") return;
      this.cursor = page.next_after;
    }
  }

  /** A page of newer messages shown, with the session's status and who has it. */
  private show(page: HistoryBody): void {
    const newest = page.messages[page.messages.length - 1];
    if (newest) this.cursor = newest.id;
    const state = this.host.state();
    const messages = withNewer(state.messages, page);
    const sessionStatus = page.metadata.status;
    const takenBy = sessionStatus === "escalated" ? page.metadata.taken_by_name ?? null : null;
    const same = messages.length === state.messages.length && messages.every((m, i) => m === state.messages[i]);
    // Most looks find nothing new: no new state, so nothing showing it renders again.
    if (same && sessionStatus === state.sessionStatus && takenBy === state.takenBy) return;
    this.host.update({ messages, status: statusOf(messages), sessionStatus, takenBy });
  }
}
