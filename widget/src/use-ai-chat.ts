import { useContext, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { ChatContext, ChatResponseBody, MessageRating, SessionBody, SessionStatus, SessionType } from "./api-types";
import { AIChatContext, transportFrom, type AIChatConnection } from "./ai-chat-provider";
import { ChatClient, DEFAULT_SESSION_TYPE } from "./chat-client";
import { watchChatEvents, type ChatEventHandlers } from "./chat-events";
import type { ChatApiError } from "./chat-error";
import type { ChatAction, ChatMessage, ChatStatus } from "./chat-state";

/**
 * The hook's options: a connection (or a client), and the conversation's callbacks (onMessage, onEscalate, onDelete,
 * onError),
 * each told once per event however often the component renders; the latest ones given are called.
 */
export interface UseAIChatOptions extends AIChatConnection, ChatEventHandlers {
  /** Which assistant: each type keeps its own conversation. Defaults to customer_support. */
  sessionType?: SessionType;
  /** Sent with every message, under each message's own context. */
  context?: ChatContext;
  /** Use this client (state shared with whoever else holds it) instead of one from a provider or the options. */
  client?: ChatClient;
  /** Fetch the stored session's history on mount (default true); the widget does it when opened instead. */
  loadHistory?: boolean;
  /** While a person has the conversation: how often (ms) to look for their messages (default 4000). */
  handoffPollMs?: number;
  /**
   * With no session stored in this browser, go on with the user's newest session of this type that is active or
   * escalated (found in GET /sessions/my), and keep it as if it had been stored. Default false.
   */
  resume?: boolean;
}

export interface UseAIChatResult {
  /** Send a message; resolves with the API's answer (its `message` is the reply), rejects with a ChatApiError. */
  sendMessage: (text: string, context?: ChatContext) => Promise<ChatResponseBody>;
  /** The conversation, oldest first. */
  chatHistory: readonly ChatMessage[];
  /**
   * A reply is pending (also while it streams, and while one the loaded history showed pending, its page reloaded
   * mid-reply, is being waited for).
   */
  isSending: boolean;
  /** A reply is being written: its message in chatHistory (status `streaming`) grows as it arrives. */
  isStreaming: boolean;
  /** End the streaming reply where it is: the server keeps it so far, marked `stopped`. */
  stop: () => Promise<void>;
  /** A streamed reply is on its way and stop() would end it. */
  canStop: boolean;
  /** stop() was asked for and the reply has not ended yet (within about a second). */
  isStopping: boolean;
  /** Why the last message failed (its `message` is the API's sentence to show), or null. */
  sendError: ChatApiError | null;
  /** Rate the conversation 1-5, with optional words. */
  submitFeedback: (rating: number, text?: string) => Promise<SessionBody>;
  /** Ask for a person: messages then go to the support team, and their replies show as they come. */
  escalateSession: (reason: string) => Promise<SessionBody>;
  /** Take back a request for a person nobody has taken yet (canWithdraw); the assistant answers again. */
  withdrawEscalation: () => Promise<SessionBody>;
  /** A request for a person waits, taken by nobody yet, and can be withdrawn. */
  canWithdraw: boolean;
  /** While escalated: the name of the person who has the conversation, once one has taken it. */
  takenBy: string | null;
  /** While escalated: the last few looks for the person's messages failed (they go on). */
  handoffCheckFailing: boolean;
  sessionId: string | null;
  status: ChatStatus;
  sessionStatus: SessionStatus | null;
  /** Whether a message can be sent now: the session is open (or with a person) and its history is not loading. */
  canSend: boolean;
  /** The last error of any action (sendError is the same for a failed message). */
  error: ChatApiError | null;
  failedAction: ChatAction | null;
  /** Leave this conversation and start an empty one (created with the next message). */
  startNewSession: () => void;
  /**
   * Delete this conversation on the server and start an empty one; rejects (the conversation kept) while a reply is
   * being written (409 turn_in_progress) or when the request fails.
   */
  deleteSession: () => Promise<void>;
  /** There is a conversation to delete, and the transport can. */
  canDelete: boolean;
  /** Try the failed message (or the last failed action) again; a message keeps its Idempotency-Key. */
  retry: (messageId?: string) => Promise<unknown>;
  /** Rate one reply up or down. */
  rateMessage: (messageId: string, rating: MessageRating) => Promise<void>;
  /** The session's 1-5 rating, once given. */
  sessionRating: number | null;
  /** Fetch the stored session's history (once). */
  loadHistory: () => Promise<void>;
  historyLoaded: boolean;
  /** Fetch earlier messages; hasOlder says whether there are any. */
  loadOlder: () => Promise<void>;
  hasOlder: boolean;
  client: ChatClient;
}

const ignore = (): void => undefined;

/** The client a hook made from its own options, and what it was made for. */
interface OwnClient {
  client: ChatClient;
  apiBaseUrl: string | undefined;
  streamUrl: string | undefined;
  sessionType: SessionType;
}

/** Resolve which client the options mean: their own, one made from their connection, or the provider's. */
function useClient(options: UseAIChatOptions): ChatClient {
  const registry = useContext(AIChatContext);
  const tokens = useRef(options.getToken);
  const { getToken } = options;
  useEffect(() => {
    // Kept current for later requests; a new token function each render is not a reason to start over.
    tokens.current = getToken;
  }, [getToken]);
  const sessionType = options.sessionType ?? DEFAULT_SESSION_TYPE;
  const ownConnection = options.transport !== undefined || options.getToken !== undefined;
  const { apiBaseUrl, streamUrl, transport, storage } = options;
  const wantsOwn = ownConnection && !options.client;
  // Like vercel/ai's useChat, which keeps its Chat in a ref: the client is made once and kept for the component's
  // life (a useMemo cache is one React may drop, and a new client would lose the conversation in progress). A
  // transport or storage written inline is a new object each render, so they are read when the client is made;
  // another API or session type makes another client.
  const own = useRef<OwnClient | null>(null);
  if (!wantsOwn) {
    own.current = null;
  } else if (own.current === null || own.current.apiBaseUrl !== apiBaseUrl || own.current.streamUrl !== streamUrl ||
    own.current.sessionType !== sessionType) {
    own.current = {
      client: new ChatClient({
        transport: transportFrom({ apiBaseUrl, streamUrl, transport }, tokens),
        sessionType,
        storage,
        stream: options.stream,
        handoffPollMs: options.handoffPollMs,
        resume: options.resume,
      }),
      apiBaseUrl,
      streamUrl,
      sessionType,
    };
  }
  const client = options.client ?? own.current?.client ?? registry?.clientFor(sessionType);
  if (!client) {
    throw new Error("useAIChat needs getToken (or a transport) in its options, or an <AIChatProvider> around it.");
  }
  return client;
}

/** The chat as React state: the guide's useAIChat, over a ChatClient shared through useSyncExternalStore. */
export function useAIChat(options: UseAIChatOptions = {}): UseAIChatResult {
  const client = useClient(options);
  const state = useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
  const { context, loadHistory = true, stream, handoffPollMs, resume, onMessage, onEscalate, onDelete, onError } = options;

  // The latest callbacks, read at each event: a new function each render is not a reason to watch again.
  const handlers = useRef<ChatEventHandlers>({ onMessage, onEscalate, onDelete, onError });
  useEffect(() => {
    handlers.current = { onMessage, onEscalate, onDelete, onError };
  });
  // One watch while mounted (StrictMode's second mount ends the first), so each event is told once.
  useEffect(() => watchChatEvents(client, () => handlers.current), [client]);

  useEffect(() => {
    client.setContext(context);
  });

  useEffect(() => {
    // Said here, it is this hook's choice for the (perhaps shared) client; unsaid, the client's own stays.
    if (stream !== undefined) client.setStream(stream);
  }, [client, stream]);

  useEffect(() => {
    if (handoffPollMs !== undefined) client.setHandoffPollMs(handoffPollMs);
  }, [client, handoffPollMs]);

  // Before the load below (effects run in order), so that its first look can resume.
  useEffect(() => {
    if (resume !== undefined) client.setResume(resume);
  }, [client, resume]);

  // Held while mounted: a reply it follows in the history (one being written when the history loaded) is looked
  // for no more once nothing shows the client. Before the load, so a reply the load finds pending is followed.
  useEffect(() => client.retain(), [client]);

  useEffect(() => {
    if (loadHistory) client.load().catch(ignore); // a failure is in the state, for the UI to show
  }, [client, loadHistory]);

  const actions = useMemo(
    () => ({
      sendMessage: (text: string, ctx?: ChatContext) => client.sendMessage(text, ctx),
      submitFeedback: (rating: number, text?: string) => client.submitFeedback(rating, text),
      escalateSession: (reason: string) => client.escalateSession(reason),
      withdrawEscalation: () => client.withdrawEscalation(),
      startNewSession: () => client.startNewSession(),
      deleteSession: () => client.deleteSession(),
      retry: (messageId?: string) => client.retry(messageId),
      rateMessage: (messageId: string, rating: MessageRating) => client.rateMessage(messageId, rating),
      stop: () => client.stop(),
      loadHistory: () => client.load(),
      loadOlder: () => client.loadOlder(),
    }),
    [client],
  );

  return {
    ...actions,
    chatHistory: state.messages,
    isSending: state.status === "submitted" || state.status === "streaming",
    isStreaming: state.status === "streaming",
    canStop: state.canStop,
    isStopping: state.stopping,
    sendError: state.failedAction === "send" ? state.error : null,
    sessionId: state.sessionId,
    status: state.status,
    sessionStatus: state.sessionStatus,
    canSend: client.isActive && state.status !== "loading",
    canWithdraw: client.canWithdraw,
    canDelete: client.canDelete,
    takenBy: state.takenBy,
    handoffCheckFailing: state.handoffCheckFailing,
    error: state.error,
    failedAction: state.failedAction,
    sessionRating: state.sessionRating,
    historyLoaded: state.historyLoaded,
    hasOlder: state.hasOlder,
    client,
  };
}
