import { createApiRequests, type ApiRequestOptions } from "./api-requests";
import type { HistoryBody, HistoryMessageBody, ReleaseTarget, SessionBody, WaitingSessionBody } from "./api-types";

/** A page of the tenant's waiting list, and the cursor of the next one (null on the last). */
export interface WaitingPage {
  sessions: WaitingSessionBody[];
  nextCursor: string | null;
}

/**
 * The staff routes (`/api/v1/ai/agent/…`) as the agent inbox needs them, one method per route; every method rejects
 * with a ChatApiError. Tests, and apps with their own networking, stand in for it.
 */
export interface AgentTransport {
  /** GET /agent/sessions?status=escalated: oldest waiting first. */
  waiting(options?: { cursor?: string | null; limit?: number }): Promise<WaitingPage>;
  /** GET /agent/sessions/{id}/history: the newest page, or (with `after`) only the messages after that one. */
  history(sessionId: string, options?: { after?: string | null; limit?: number }): Promise<HistoryBody>;
  /** POST /agent/sessions/{id}/messages: a person's reply; the first one takes the session. */
  reply(sessionId: string, content: string): Promise<HistoryMessageBody>;
  /** POST /agent/sessions/{id}/release: back to the AI, or closed. */
  release(sessionId: string, to: ReleaseTarget, note?: string): Promise<SessionBody>;
  /**
   * POST /agent/sessions/{id}/take: take the session without replying (the customer sees the "joined" marker); the
   * same person again gets it unchanged, anyone else a 409 `escalation_taken`.
   */
  take(sessionId: string): Promise<SessionBody>;
}

/** The staff routes over fetch, with `Authorization: Bearer <getToken()>` (a token with a STAFF_ROLES role). */
export function createAgentFetchTransport(options: ApiRequestOptions): AgentTransport {
  const { call, callWithHeaders } = createApiRequests(options);
  const session = (id: string): string => `/agent/sessions/${encodeURIComponent(id)}`;
  const query = (params: Record<string, string | number | null | undefined>): string => {
    const qs = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null) qs.set(name, String(value));
    const text = qs.toString();
    return text ? `?${text}` : "";
  };
  return {
    waiting: async ({ cursor, limit } = {}) => {
      const { body, headers } = await callWithHeaders<WaitingSessionBody[]>(
        "GET", `/agent/sessions${query({ status: "escalated", limit, cursor })}`);
      return { sessions: body, nextCursor: headers.get("x-next-cursor") };
    },
    history: (sessionId, { after, limit } = {}) => call("GET", `${session(sessionId)}/history${query({ after, limit })}`),
    reply: (sessionId, content) => call("POST", `${session(sessionId)}/messages`, { content }),
    release: (sessionId, to, note) => call("POST", `${session(sessionId)}/release`, note ? { to, note } : { to }),
    take: (sessionId) => call("POST", `${session(sessionId)}/take`, {}),
  };
}
