/** A conversation brought back after a reload: its stored messages as `useChat`'s, newest page first. */
import type { HistoryBody, SessionBody } from "../api-types";
import { ChatApiError } from "../chat-error";
import { requestsFor, type TokenSource } from "./chat-transport";
import { toUIMessages, type BackendUIMessage, type ToUIMessagesOptions } from "./messages";

export interface LoadConversationOptions extends ToUIMessagesOptions {
  apiBaseUrl?: string;
  token: TokenSource;
  sessionId: string;
  /** How many of the newest messages (1-100; the API's default is 50). */
  limit?: number;
  fetch?: typeof fetch;
}

export interface LoadedConversation {
  messages: BackendUIMessage[];
  session: SessionBody;
  /** Pass to GET …/history?cursor= for earlier messages; null when these are all. */
  nextCursor: string | null;
}

/**
 * The session's newest messages as `useChat`'s `messages` (give them to `useChat({messages})` or `setMessages`),
 * with the session; null when the session is gone (expired, deleted, or not the caller's): start a new one.
 */
export async function loadConversation(options: LoadConversationOptions): Promise<LoadedConversation | null> {
  const requests = requestsFor(options);
  const query = options.limit ? `?limit=${options.limit}` : "";
  try {
    const page = await requests.call<HistoryBody>("GET", `/sessions/${encodeURIComponent(options.sessionId)}/history${query}`);
    return { messages: toUIMessages(page.messages, options), session: page.metadata, nextCursor: page.next_cursor ?? null };
  } catch (error) {
    if (error instanceof ChatApiError && error.status === 404) return null;
    throw error;
  }
}
