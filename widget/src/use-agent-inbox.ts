import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createAgentFetchTransport, type AgentTransport } from "./agent-transport";
import type { ApiRequestOptions } from "./api-requests";
import type { HistoryMessageBody, ReleaseTarget, SessionBody, WaitingSessionBody } from "./api-types";
import { tell } from "./chat-events";
import { ChatApiError, toChatError } from "./chat-error";

/**
 * What an inbox error came from: `refresh`, a look at the waiting list or the open conversation (every `pollMs`, and
 * after a reply, a take or a release, which were stored all the same); `more`, the next page of the list; `open`,
 * opening a conversation; `reply`, a reply not stored; `take`, a take refused (`escalation_taken`: someone else has
 * it); `release`, a hand-back or close not done.
 */
export type AgentInboxAction = "refresh" | "more" | "open" | "reply" | "take" | "release";

/** A reply of the support team's person, stored: the conversation it went to and the message as the API stored it. */
export interface AgentReplyEvent {
  sessionId: string;
  message: HistoryMessageBody;
}

/** A conversation handed back to the AI (`to: "ai"`, the session active again) or closed (`closed`, completed). */
export interface AgentReleaseEvent {
  sessionId: string;
  to: ReleaseTarget;
  /** The session as the API answered the release. */
  session: SessionBody;
}

/** A conversation taken without a reply: the customer sees that this person joined; nobody else can take it. */
export interface AgentTakeEvent {
  sessionId: string;
  /** The session as the API answered the take (`taken_by_name` is this person's name). */
  session: SessionBody;
}

/** The inbox's callbacks; each is told once per event, and the latest function given is called. */
export interface AgentInboxEventHandlers {
  /** A reply was sent and stored (the customer sees it at their next look), before the conversation is looked at again. */
  onReply?: (event: AgentReplyEvent) => void;
  /** The open conversation was taken without a reply, before it is looked at again. */
  onTake?: (event: AgentTakeEvent) => void;
  /** The open conversation was handed back to the AI or closed: it leaves the waiting list. */
  onRelease?: (event: AgentReleaseEvent) => void;
  /**
   * An action or a look failed: the error (a ChatApiError; anything else the transport threw is wrapped as one with
   * code `client_error` and the thrown value as its `cause`) and what it came from. The inbox shows the error's
   * sentence too.
   */
  onError?: (error: ChatApiError, action: AgentInboxAction) => void;
}

export interface UseAgentInboxOptions extends AgentInboxEventHandlers {
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
  /**
   * Take the open conversation without replying. Rejects (and says so in `error`) when it was not taken: with
   * `escalation_taken` when someone else has it, after which the conversation and the list are read again.
   */
  take(): Promise<void>;
  /** Hand the open conversation back to the AI, or close it; it leaves the waiting list. */
  release(to: ReleaseTarget, note?: string): Promise<void>;
  busy: boolean;
  /** The last failure, as a sentence to show; cleared by the next action that works. */
  error: string | null;
  /** The last failure itself (its `code`, to show it in words of one's own), cleared with `error`. */
  failure: ChatApiError | null;
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
  const [error, setErrorSentence] = useState<string | null>(null);
  const [failure, setFailure] = useState<ChatApiError | null>(null);
  const setError = useCallback((e: unknown) => {
    setErrorSentence(e === null ? null : sentence(e));
    setFailure(e === null ? null : toChatError(e));
  }, []);
  // Read by the timers, which must not restart on every render.
  const openRef = useRef<string | null>(null);
  const messagesRef = useRef<HistoryMessageBody[]>([]);
  const sessionRef = useRef<SessionBody | null>(null);
  // The latest callbacks, read when an event happens: a new function each render restarts nothing.
  const { onReply, onTake, onRelease, onError } = options;
  const handlers = useRef<AgentInboxEventHandlers>({ onReply, onTake, onRelease, onError });
  useEffect(() => {
    handlers.current = { onReply, onTake, onRelease, onError };
  });
  const failed = useCallback((e: unknown, action: AgentInboxAction) => {
    setError(e);
    const chatError = toChatError(e);
    tell(() => handlers.current.onError?.(chatError, action));
  }, [setError]);

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
        // A look of StrictMode's first mount, ended already, is not told.
        if (!stopped) failed(e, "refresh");
      }
      if (!stopped) timer = setTimeout(() => void tick(), pollMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refreshList, lookForNew, pollMs, failed]);

  const loadMore = useCallback(async () => {
    if (!nextCursor) return;
    try {
      const page = await transport.waiting({ cursor: nextCursor });
      setWaiting((shown) => [...shown, ...page.sessions.filter((s) => !shown.some((t) => t.session_id === s.session_id))]);
      setNextCursor(page.nextCursor);
    } catch (e) {
      failed(e, "more");
    }
  }, [transport, nextCursor, failed]);

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
      failed(e, "open");
    }
  }, [transport, append, failed]);

  const close = useCallback(() => {
    openRef.current = null;
    messagesRef.current = [];
    sessionRef.current = null;
    setOpenId(null);
    setMessages([]);
    setSession(null);
  }, []);

  /** Runs `work` on the open conversation; a failure is told as `action`'s, or `refresh` once the action was done. */
  const act = useCallback(async (action: AgentInboxAction, work: (id: string, done: () => void) => Promise<void>) => {
    const id = openRef.current;
    if (!id) return;
    setBusy(true);
    let stage = action;
    try {
      await work(id, () => {
        stage = "refresh";
      });
      setError(null);
    } catch (e) {
      failed(e, stage);
      throw e;
    } finally {
      setBusy(false);
    }
  }, [failed]);

  const reply = useCallback((content: string) => act("reply", async (id, done) => {
    const message = await transport.reply(id, content);
    done();
    tell(() => handlers.current.onReply?.({ sessionId: id, message }));
    await lookForNew(); // the reply and, for the first one, the "joined" marker before it
  }), [act, transport, lookForNew]);

  const take = useCallback(() => act("take", async (id, done) => {
    let session: SessionBody;
    try {
      session = await transport.take(id);
    } catch (e) {
      // Someone else took it first: read who, so the conversation says whose it is now and the list is current.
      if (e instanceof ChatApiError && e.code === "escalation_taken") {
        await Promise.all([lookForNew(), refreshList()]).catch(() => undefined); // the take's error is the one told
      }
      throw e;
    }
    done();
    tell(() => handlers.current.onTake?.({ sessionId: id, session }));
    await Promise.all([lookForNew(), refreshList()]); // the "joined" marker, and the list's "taken by"
  }), [act, transport, lookForNew, refreshList]);

  const release = useCallback((to: ReleaseTarget, note?: string) => act("release", async (id, done) => {
    const session = await transport.release(id, to, note);
    done();
    tell(() => handlers.current.onRelease?.({ sessionId: id, to, session }));
    await lookForNew();
    await refreshList();
  }), [act, transport, lookForNew, refreshList]);

  return {
    waiting, hasMore: nextCursor !== null, loadMore, openId, session, messages, open, close, reply, take, release,
    busy, error, failure,
  };
}
