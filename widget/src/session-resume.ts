/**
 * Resuming a conversation begun elsewhere (another browser, a cleared storage): the user's newest session of one
 * type that still takes messages, found in their list of sessions (GET /sessions/my, newest first).
 */
import type { SessionBody, SessionStatus, SessionType } from "./api-types";

/** A page of the user's sessions, newest first, and the cursor of the next one (null on the last). */
export interface SessionPage {
  sessions: SessionBody[];
  nextCursor: string | null;
}

/** GET /sessions/my, one page at a time. */
export type ListMySessions = (options?: { cursor?: string | null; limit?: number }) => Promise<SessionPage>;

// A session in either state goes on where it was: the model answers an active one, a person an escalated one.
const RESUMABLE: ReadonlySet<SessionStatus> = new Set<SessionStatus>(["active", "escalated"]);
/** Pages looked at before giving up: a user with hundreds of closed sessions starts a new one rather than wait. */
export const RESUME_MAX_PAGES = 10;
const PAGE_SIZE = 50;

/**
 * The newest of the user's sessions of `sessionType` that is active or escalated, looking page after page (at most
 * `maxPages`); null when there is none. Rejects as `list` does.
 */
export async function latestResumableSession(list: ListMySessions, sessionType: SessionType,
  maxPages = RESUME_MAX_PAGES): Promise<SessionBody | null> {
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page += 1) {
    const { sessions, nextCursor } = await list({ cursor, limit: PAGE_SIZE });
    const found = sessions.find((s) => s.session_type === sessionType && RESUMABLE.has(s.status));
    if (found) return found;
    if (!nextCursor) return null;
    cursor = nextCursor;
  }
  return null;
}
