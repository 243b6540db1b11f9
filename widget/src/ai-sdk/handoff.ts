/**
 * A person's replies reach a `useChat` app through the history, not the stream: while the session is escalated,
 * look at GET …/history?after= now and then and hand what is new to the app (to merge with `mergeMessages`).
 */
import type { HistoryBody, SessionBody } from "../api-types";
import { requestsFor, type TokenSource } from "./chat-transport";
import { toUIMessages, type BackendUIMessage, type ToUIMessagesOptions } from "./messages";

export interface FollowHandoffOptions extends ToUIMessagesOptions {
  apiBaseUrl?: string;
  token: TokenSource;
  sessionId: string;
  /** The newest message id the app has from the API; absent: the first look reads the newest page. */
  after?: string | null;
  /** How long to wait between looks, in ms (4 s by default: one cheap Query each). */
  everyMs?: number;
  /** What each look found that is new (oldest first), and the session as it is now. */
  onMessages: (messages: BackendUIMessage[], session: SessionBody) => void;
  /** A look that failed; the next one is tried all the same. */
  onError?: (error: unknown) => void;
  fetch?: typeof fetch;
}

// Pages of newer messages read in one look (next_after); the rest wait for the next look.
const PAGES_PER_LOOK = 5;

/**
 * Follow a handed-over conversation: look for new messages every `everyMs` while the session is escalated (a
 * person has it or one is asked for), and stop by itself once it is not (handed back or closed). Returns a
 * function that stops following (for a React effect's cleanup).
 */
export function followHandoff(options: FollowHandoffOptions): () => void {
  const requests = requestsFor(options);
  const path = `/sessions/${encodeURIComponent(options.sessionId)}/history`;
  let after = options.after ?? null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const look = async (): Promise<boolean> => {
    for (let pages = 0; pages < PAGES_PER_LOOK; pages++) {
      const page = await requests.call<HistoryBody>("GET", after ? `${path}?after=${encodeURIComponent(after)}` : path);
      if (stopped) return false;
      const newest = page.messages.at(-1);
      if (newest && (after === null || newest.id > after)) after = newest.id;
      if (page.messages.length) options.onMessages(toUIMessages(page.messages, options), page.metadata);
      if (page.metadata.status !== "escalated") return false;
      if (!page.next_after) break;
      after = page.next_after;
    }
    return true;
  };

  const tick = async (): Promise<void> => {
    let more = true;
    try {
      more = await look();
    } catch (error) {
      if (!stopped) options.onError?.(error);
    }
    if (more && !stopped) timer = setTimeout(() => void tick(), options.everyMs ?? 4000);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
