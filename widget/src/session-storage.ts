/**
 * Where a conversation's session id is kept across page loads, so a reload resumes it. Storage can throw (blocked
 * in sandboxed frames and by some privacy settings, or full): the conversation then works all the same, it just
 * does not resume after a reload.
 */
import type { SessionType } from "./api-types";

/** The part of the Web Storage API the client uses; localStorage by default. */
export type SessionStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The key a session type's conversation is kept under, so each session type resumes its own. */
export function storageKeyFor(sessionType: SessionType): string {
  return `ai-chat:session:${sessionType}`;
}

/** The page's localStorage, or null where there is none or reading it throws. */
export function defaultStorage(): SessionStorage | null {
  try {
    return typeof window !== "undefined" && window.localStorage ? window.localStorage : null;
  } catch {
    // Reading localStorage throws where storage is blocked (sandboxed frames, some privacy settings).
    return null;
  }
}

/** One conversation's stored session id, under one key; null storage keeps nothing. None of its methods throws. */
export class StoredSession {
  constructor(private readonly storage: SessionStorage | null, private readonly key: string) {}

  /** The id kept by an earlier page load, or null (none kept, or storage blocked). */
  read(): string | null {
    try {
      return this.storage?.getItem(this.key) || null;
    } catch {
      return null;
    }
  }

  /** Keep `sessionId` for the next page load. */
  keep(sessionId: string): void {
    try {
      this.storage?.setItem(this.key, sessionId);
    } catch {
      // Storage full or blocked: the conversation still works, it just will not resume after a reload.
    }
  }

  /** Keep no id: the next page load starts a new conversation. */
  forget(): void {
    try {
      this.storage?.removeItem(this.key);
    } catch {
      // Blocked storage held nothing to remove.
    }
  }
}
