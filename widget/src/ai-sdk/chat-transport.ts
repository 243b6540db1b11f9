/**
 * A transport for the AI SDK's `useChat` on this API's POST /chat/stream: the SDK's own DefaultChatTransport reads
 * the stream; this one sends one message and the session (the API keeps the history), an Idempotency-Key per user
 * message, learns the session from the reply's `start`, and stops a reply on the server keeping what was shown.
 */
import {
  DefaultChatTransport,
  type ChatRequestOptions,
  type ChatTransport,
  type UIMessageChunk,
} from "ai";
import { API_PREFIX, createApiRequests, type ApiRequests } from "../api-requests";
import type { ChatContext, SessionType, StopBody } from "../api-types";
import type { BackendUIMessage } from "./messages";

/** A bearer token, or a function giving the current one (asked before every request). */
export type TokenSource = string | (() => string | Promise<string>);

/** The API's requests (auth, errors as ChatApiError) for the adapter's options: where the API is, and the token. */
export function requestsFor(options: { apiBaseUrl?: string; token: TokenSource; fetch?: typeof fetch }): ApiRequests {
  const { token } = options;
  const getToken = typeof token === "function" ? token : () => token;
  return createApiRequests({ apiBaseUrl: options.apiBaseUrl, getToken, fetch: options.fetch });
}

export interface BackendChatTransportOptions {
  /** Where the API is: the stack's ApiUrl (routes start with /api/v1/ai); empty for the page's own origin. */
  apiBaseUrl?: string;
  /** The streaming route's full URL when it is elsewhere (in AWS, the stack's StreamUrl). */
  streamUrl?: string;
  token: TokenSource;
  /** The session to continue (one restored after a reload); null or absent: the first message starts one. */
  sessionId?: string | null;
  /** Called once the server names the session (the first reply's `start`): keep it to resume after a reload. */
  onSessionId?: (sessionId: string) => void;
  /** Sent with every message, as POST /chat takes them. */
  sessionType?: SessionType;
  context?: ChatContext;
  fetch?: typeof fetch;
}

type SendOptions = Parameters<ChatTransport<BackendUIMessage>["sendMessages"]>[0];

/** The reply being streamed: what a stop needs of it. */
interface LiveReply {
  sessionId: string | null;
  deltas: number; // text-delta chunks handed to useChat: what it has shown
  stopping: Promise<StopBody> | null;
  startStop: ((sessionId: string | null) => void) | null; // a stop waiting for `start` to name the session
  end: () => void; // stop handing chunks to useChat (its message ends where it is)
  finish: () => void; // the reply is over: a stop still waiting gets null
}

/** What a user message's requests have claimed: the key they send, and whether a reply was stored under it. */
interface KeyUse {
  attempt: number;
  stored: boolean;
}

function textOf(message: BackendUIMessage | undefined): string {
  return message?.parts.map((part) => (part.type === "text" ? part.text : "")).join("") ?? "";
}

export class BackendChatTransport implements ChatTransport<BackendUIMessage> {
  /** The conversation's session: null until the first reply's `start` names it (or the one given). */
  sessionId: string | null;
  private readonly inner: DefaultChatTransport<BackendUIMessage>;
  private readonly requests: ApiRequests;
  private readonly options: BackendChatTransportOptions;
  private readonly keys = new Map<string, KeyUse>();
  private live: LiveReply | null = null;

  constructor(options: BackendChatTransportOptions) {
    this.options = options;
    this.sessionId = options.sessionId ?? null;
    this.requests = requestsFor(options);
    this.inner = new DefaultChatTransport<BackendUIMessage>({
      api: options.streamUrl ?? `${options.apiBaseUrl ?? ""}${API_PREFIX}/chat/stream`,
      fetch: options.fetch,
      prepareSendMessagesRequest: async ({ messages }) => {
        const asked = messages.at(-1);
        return {
          body: {
            message: textOf(asked),
            session_id: this.sessionId,
            ...(options.sessionType ? { session_type: options.sessionType } : {}),
            ...(options.context ? { context: options.context } : {}),
          },
          headers: { Authorization: await this.requests.bearer(), "Idempotency-Key": this.keyFor(asked?.id ?? "") },
        };
      },
    });
  }

  /** Continue another session (null: the next message starts a new one). */
  setSession(sessionId: string | null): void {
    this.sessionId = sessionId;
  }

  async sendMessages(options: SendOptions): Promise<ReadableStream<UIMessageChunk>> {
    const asked = options.messages.at(-1)?.id ?? "";
    // Live from the request on: a stop pressed before the answer's headers (or its `start`) waits for `start`.
    const live = this.startLive();
    // useChat's own stop() aborts the request: the reply is over for this transport too.
    options.abortSignal?.addEventListener("abort", () => live.finish(), { once: true });
    try {
      const chunks = await this.inner.sendMessages(options);
      return chunks.pipeThrough(this.follow(live, asked));
    } catch (error) {
      live.finish(); // refused before any stream, or the connection failed: there is nothing to stop
      throw error;
    }
  }

  /** The API has no route to resume a stream: a dropped reply is read from the history (it is stored). */
  async reconnectToStream(_options: { chatId: string } & ChatRequestOptions): Promise<ReadableStream<UIMessageChunk> | null> {
    return null;
  }

  /**
   * Stop the reply being streamed: useChat's message ends with what it has shown, and the server stores exactly
   * that (`deltas_shown`), charged what the provider produced. Pressed before the reply's `start` arrived, the stop
   * is sent as soon as it does. Resolves with the stop route's answer; null when no reply is streaming.
   * Use this instead of useChat's `stop()`, which only stops reading: the server would store the whole reply.
   */
  stop(): Promise<StopBody | null> {
    const live = this.live;
    if (live === null) return Promise.resolve(null);
    if (live.stopping) return live.stopping;
    if (live.sessionId !== null) return this.stopNow(live, live.sessionId);
    return new Promise<StopBody | null>((resolve, reject) => {
      live.startStop = (sessionId) => {
        if (sessionId === null) resolve(null);
        else this.stopNow(live, sessionId).then(resolve, reject);
      };
    });
  }

  private stopNow(live: LiveReply, sessionId: string): Promise<StopBody> {
    const shown = live.deltas;
    live.stopping = this.requests.call<StopBody>("POST", `/sessions/${encodeURIComponent(sessionId)}/stop`,
      { deltas_shown: shown });
    live.end(); // nothing more reaches useChat: what it shows now is what the server keeps
    return live.stopping;
  }

  private startLive(): LiveReply {
    const live: LiveReply = {
      sessionId: null, deltas: 0, stopping: null, startStop: null, end: () => live.finish(),
      finish: () => {
        if (this.live === live) this.live = null;
        const waiting = live.startStop;
        live.startStop = null;
        waiting?.(live.sessionId);
      },
    };
    this.live = live;
    return live;
  }

  /**
   * The key a user message's request sends: the same for every try while no reply is stored under it (a retry after
   * an error or a dropped connection is answered once and charged once), a new one after a reply was stored (so
   * `regenerate()` of an answered message asks again: the question is stored a second time, with a new reply).
   */
  private keyFor(messageId: string): string {
    const use = this.keys.get(messageId);
    if (use === undefined) {
      this.keys.set(messageId, { attempt: 0, stored: false });
      return messageId;
    }
    if (use.stored) {
      use.attempt += 1;
      use.stored = false;
    }
    return use.attempt === 0 ? messageId : `${messageId}.${use.attempt}`;
  }

  /** Passes the chunks on to useChat, noting the session, what was shown, and whether a reply was stored. */
  private follow(live: LiveReply, messageId: string): TransformStream<UIMessageChunk, UIMessageChunk> {
    return new TransformStream<UIMessageChunk, UIMessageChunk>({
      start: (controller) => {
        live.end = () => {
          live.finish();
          try {
            controller.terminate();
          } catch {
            // The stream already ended: nothing more to stop.
          }
        };
      },
      transform: (chunk, controller) => {
        if (live.stopping) return;
        controller.enqueue(chunk);
        if (chunk.type === "start") {
          const sessionId = (chunk.messageMetadata as { session_id?: string } | undefined)?.session_id;
          if (sessionId) {
            live.sessionId = sessionId;
            if (sessionId !== this.sessionId) {
              this.sessionId = sessionId;
              this.options.onSessionId?.(sessionId);
            }
          }
          const waiting = live.startStop;
          live.startStop = null;
          waiting?.(live.sessionId);
        } else if (chunk.type === "text-delta") {
          live.deltas += 1;
        } else if (chunk.type === "message-metadata") {
          const stored = (chunk.messageMetadata as { message_id?: string } | undefined)?.message_id;
          const use = this.keys.get(messageId);
          if (stored && use) use.stored = true;
        }
      },
      flush: () => live.finish(),
    });
  }
}
