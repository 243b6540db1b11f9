import { createContext, useEffect, useRef, useState, type ReactNode } from "react";
import type { SessionType } from "./api-types";
import { ChatClient, DEFAULT_SESSION_TYPE } from "./chat-client";
import type { SessionStorage } from "./session-storage";
import { createFetchTransport, type ChatTransport, type TokenSource } from "./transport";

/** Where the API is and who is calling: shared by every widget and hook under an AIChatProvider. */
export interface AIChatConnection {
  /** The API's base URL (the stack's ApiUrl; routes start with /api/v1/ai); empty or unset for this origin. */
  apiBaseUrl?: string;
  /**
   * Where POST /chat/stream is (the stack's StreamUrl in AWS, where the stream has a front of its own); the API
   * base's `/api/v1/ai/chat/stream` by default.
   */
  streamUrl?: string;
  /**
   * Show each reply as it is written (POST /chat/stream; the default), or only when it is whole (false: POST
   * /chat, as before streaming).
   */
  stream?: boolean;
  /** The Bearer token, asked for before each request. */
  getToken?: TokenSource;
  /** Replaces the fetch transport (tests, custom networking); apiBaseUrl and getToken are then unused. */
  transport?: ChatTransport;
  /** Where session ids are kept; localStorage by default, null for memory only. */
  storage?: SessionStorage | null;
}

export interface ChatClientRegistry {
  /** The one client of a session type under this provider, so a widget and a hook of that type share it. */
  clientFor(sessionType: SessionType): ChatClient;
  /** Stream (or not) in every client, those made later too. */
  setStream(stream: boolean): void;
}

export const AIChatContext = createContext<ChatClientRegistry | null>(null);

/** A transport whose token comes from a ref, so a new getToken function each render costs no new client. */
export function transportFrom(
  connection: AIChatConnection,
  tokens: { readonly current: TokenSource | undefined },
): ChatTransport {
  if (connection.transport) return connection.transport;
  return createFetchTransport({
    apiBaseUrl: connection.apiBaseUrl,
    streamUrl: connection.streamUrl,
    getToken: () => {
      const getToken = tokens.current;
      if (!getToken) throw new Error("No getToken was given to AIChatProvider, useAIChat or AIChatWidget.");
      return getToken();
    },
  });
}

/** Gives every AIChatWidget and useAIChat() inside it the API's address and the caller's token. */
export function AIChatProvider({ children, ...connection }: AIChatConnection & { children?: ReactNode }): ReactNode {
  const tokens = useRef(connection.getToken);
  useEffect(() => {
    tokens.current = connection.getToken;
  });
  const [registry, setRegistry] = useState(() => makeRegistry(connection, tokens));
  const api = `${connection.apiBaseUrl ?? ""} ${connection.streamUrl ?? ""}`;
  const [madeFor, setMadeFor] = useState(api);
  if (madeFor !== api) {
    // Another API is another set of conversations (React's "adjust state while rendering" pattern). A transport or
    // storage is read once, as an inline object would otherwise start over on every render.
    setMadeFor(api);
    setRegistry(makeRegistry(connection, tokens));
  }
  const { stream } = connection;
  useEffect(() => {
    if (stream !== undefined) registry.setStream(stream);
  }, [registry, stream]);
  return <AIChatContext.Provider value={registry}>{children}</AIChatContext.Provider>;
}

function makeRegistry(connection: AIChatConnection, tokens: { readonly current: TokenSource | undefined }): ChatClientRegistry {
  const clients = new Map<SessionType, ChatClient>();
  const transport = transportFrom(connection, tokens);
  let stream = connection.stream ?? true;
  return {
    clientFor(sessionType = DEFAULT_SESSION_TYPE) {
      let client = clients.get(sessionType);
      if (!client) {
        client = new ChatClient({ transport, sessionType, storage: connection.storage, stream });
        clients.set(sessionType, client);
      }
      return client;
    },
    setStream(on) {
      stream = on;
      for (const client of clients.values()) client.setStream(on);
    },
  };
}
