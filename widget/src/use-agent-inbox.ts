import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createAgentFetchTransport, type AgentTransport } from "./agent-transport";
import type { ApiRequestOptions } from "./api-requests";
import type { HistoryMessageBody, ReleaseTarget, SessionBody, WaitingSessionBody } from "./api-types";
import { ChatApiError } from "./chat-error";

export interface UseAgentInboxOptions {
  /** The staff routes; by default fetch to `apiBaseUrl` with `getToken` (a token with a support or admin role). */
  transport?: AgentTransport;
  apiBaseUrl?: ApiRequestOptions["apiBaseUrl"];
  getToken?: ApiRequestOptions["getToken"];
  /** Milliseconds between looks at the waiting list and, while it is escalated, the open conversation (default 4000). */
  pollMs?: number;
}

export interface UseAgentInboxResult {
  /** The tenant's sessions waiting for a person, oldest first (every page loaded so far). */
  waiting: WaitingSessionBody[];
  /** Whether the list has more pages (loadMore fetches the next). */
  hasMore: boolean;
  loadMore(): Promise<void>;
  /** The open conversation's id, its session (status, who has it) and its messages, oldest first. */
  openId: string | null;
  session: SessionBody | null;
  messages: HistoryMessageBody[];
  open(sessionId: string): Promise<void>;
  close(): void;
  /** A person's reply in the open conversation; rejects (and says so in `error`) when it was not stored. */
  reply(content: string): Promise<void>;
  /** Hand the open conversation back to the AI, or close it; it leaves the waiting list. */
  release(to: ReleaseTarget, note?: string): Promise<void>;
  busy: boolean;
  /** The last failure, as a sentence to show; cleared by the next action that works. */
  error: string | null;
}

const DEFAULT_POLL_MS = 4000;

function sentence(e: unknown): string {
  return e instanceof ChatApiError ? e.message : "Something went wrong. Try again.";
}

/** The state of an agent inbox: the waiting list, one open conversation, replies and releases; polls while mounted. */
export function useAgentInbox(options: UseAgentInboxOptions): UseAgentInboxResult {
  const { apiBaseUrl, getToken, pollMs = DEFAULT_POLL_MS } = options;
  const tokenRef = useRef(getToken);
  tokenRef.current = getToken;
  const transport = useMemo<AgentTransport>(
    () => options.transport ?? createAgentFetchTransport({
      apiBaseUrl,
      getToken: () => {
        if (!tokenRef.current) throw new Error("useAgentInbox needs getToken or a transport");
        return tokenRef.current();
      },
    }),
    [options.transport, apiBaseUrl],
  );

  const [waiting, setWaiting] = useState<WaitingSessionBody[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [session, setSession] = useState<SessionBody | null>(null);
  const [messages, setMessages] = useState<HistoryMessageBody[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Read by the timers, which must not restart on every render.
  const openRef = useRef<string | null>(null);
  const messagesRef = useRef<HistoryMessageBody[]>([]);
  const sessionRef = useRef<SessionBody | null>(null);

  const refreshList = useCallback(async () => {
    // The first page again: sessions taken off the list elsewhere (released, withdrawn) disappear from it.
    const page = await transport.waiting();
    setWaiting(page.sessions);
    setNextCursor(page.nextCursor);
  }, [transport]);

  const append = useCallback((id: string, incoming: HistoryMessageBody[], meta: SessionBody) => {
    if (openRef.current !== id) return; // another conversation was opened meanwhile
    const known = new Set(messagesRef.current.map((m) => m.id));
    const merged = [...messagesRef.current, ...incoming.filter((m) => !known.has(m.id))];
    messagesRef.current = merged;
    setMessages(merged);
    sessionRef.current = meta;
    setSession(meta);
  }, []);

  const lookForNew = useCallback(async () => {
    const id = openRef.current;
    if (!id) return;
    const last = messagesRef.current.at(-1)?.id ?? null;
    let after = last;
    // Follow next_after until nothing newer is left, so a burst of messages arrives in one look.
    for (;;) {
      const page = await transport.history(id, { after });
      append(id, page.messages, page.metadata);
      if (!page.next_after) break;
      after = page.next_after;
    }
  }, [transport, append]);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        // A released or closed conversation gets nothing more from a person, so only an escalated one is watched.
        const watching = sessionRef.current?.status === "escalated";
        await Promise.all([refreshList(), watching ? lookForNew() : Promise.resolve()]);
      } catch (e) {
        if (!stopped) setError(sentence(e));
      }
      if (!stopped) timer = setTimeout(() => void tick(), pollMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refreshList, lookForNew, pollMs]);

  const loadMore = useCallback(async () => {
    if (!nextCursor) return;
    try {
      const page = await transport.waiting({ cursor: nextCursor });
      setWaiting((shown) => [...shown, ...page.sessions.filter((s) => !shown.some((t) => t.session_id === s.session_id))]);
      setNextCursor(page.nextCursor);
    } catch (e) {
      setError(sentence(e));
    }
  }, [transport, nextCursor]);

  const open = useCallback(async (sessionId: string) => {
    openRef.current = sessionId;
    messagesRef.current = [];
    sessionRef.current = null;
    setOpenId(sessionId);
    setMessages([]);
    setSession(null);
    try {
      const page = await transport.history(sessionId);
      append(sessionId, page.messages, page.metadata);
      setError(null);
    } catch (e) {
      setError(sentence(e));
    }
  }, [transport, append]);

  const close = useCallback(() => {
    openRef.current = null;
    messagesRef.current = [];
    sessionRef.current = null;
    setOpenId(null);
    setMessages([]);
    setSession(null);
  }, []);

  const act = useCallback(async (work: (id: string) => Promise<void>) => {
    const id = openRef.current;
    if (!id) return;
    setBusy(true);
    try {
      await work(id);
      setError(null);
    } catch (e) {
      setError(sentence(e));
      throw e;
    } finally {
      setBusy(false);
    }
  }, []);

  const reply = useCallback((content: string) => act(async (id) => {
    await transport.reply(id, content);
    await lookForNew(); // the reply and, for the first one, the "joined" marker before it
  }), [act, transport, lookForNew]);

  const release = useCallback((to: ReleaseTarget, note?: string) => act(async (id) => {
    await transport.release(id, to, note);
    await lookForNew();
    await refreshList();
  }), [act, transport, lookForNew, refreshList]);

  return {
    waiting, hasMore: nextCursor !== null, loadMore, openId, session, messages, open, close, reply, release, busy,
    error,
  };
}
