import type { ErrorBody } from "./api-types";
import { ChatApiError } from "./chat-error";

export const API_PREFIX = "/api/v1/ai";

/** Where the API is and how to ask for a token: what the customer's transport and the agent inbox's share. */
export interface ApiRequestOptions {
  /** Where the API is: the stack's ApiUrl (routes start with /api/v1/ai); empty for the page's own origin. */
  apiBaseUrl?: string;
  /** The Bearer token, asked for before every request so that a refreshed token is used. */
  getToken: () => string | Promise<string>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface ApiRequests {
  /** The API's base URL with its prefix. */
  base: string;
  /** `Bearer <token>`; a token source that fails rejects as a 401 token_unavailable. */
  bearer(): Promise<string>;
  /** fetch, with a network failure or a non-2xx answer rejected as a ChatApiError. */
  send(url: string, init: RequestInit): Promise<Response>;
  /** A JSON request to a route under the prefix, and its JSON answer. */
  call<T>(method: "GET" | "POST", path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** As call, with the answer's headers too (a list's X-Next-Cursor). */
  callWithHeaders<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<{ body: T; headers: Headers }>;
}

async function errorBody(response: Response): Promise<Partial<ErrorBody> | null> {
  try {
    const body: unknown = await response.json();
    return typeof body === "object" && body !== null ? (body as Partial<ErrorBody>) : null;
  } catch {
    // A proxy's HTML error page, or an empty body: the status alone decides the message.
    return null;
  }
}

/** JSON over fetch with `Authorization: Bearer <getToken()>`; every failure is a ChatApiError. */
export function createApiRequests(options: ApiRequestOptions): ApiRequests {
  const base = (options.apiBaseUrl ?? "").replace(/\/+$/, "") + API_PREFIX;

  async function bearer(): Promise<string> {
    try {
      return `Bearer ${await options.getToken()}`;
    } catch (e) {
      throw new ChatApiError(401, { code: "token_unavailable" }, { cause: e });
    }
  }

  async function send(url: string, init: RequestInit): Promise<Response> {
    // Read at call time, not at creation: tests and apps may replace the global fetch later.
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, init);
    } catch (e) {
      throw new ChatApiError(0, null, { cause: e });
    }
    if (!response.ok) throw new ChatApiError(response.status, await errorBody(response));
    return response;
  }

  async function callWithHeaders<T>(method: "GET" | "POST", path: string, body?: unknown,
    headers?: Record<string, string>): Promise<{ body: T; headers: Headers }> {
    const response = await send(base + path, {
      method,
      headers: {
        Accept: "application/json",
        Authorization: await bearer(),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    try {
      return { body: (await response.json()) as T, headers: response.headers };
    } catch (e) {
      throw new ChatApiError(response.status, { code: "invalid_response" }, { cause: e, kind: "unknown" });
    }
  }

  const call = async <T,>(method: "GET" | "POST", path: string, body?: unknown, headers?: Record<string, string>): Promise<T> =>
    (await callWithHeaders<T>(method, path, body, headers)).body;

  return { base, bearer, send, call, callWithHeaders };
}
