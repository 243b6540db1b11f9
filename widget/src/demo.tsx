/**
 * The browser-ready demo the local server's page loads (dist/demo/ai-chat-demo.js, React included). The page sets
 *   window.AIChatDemo = { apiBaseUrl, streamUrl?, stream?, token?, sessionType?, theme?, context?, mount? }
 * before loading it. The token comes from there, from the address (`/#token=…`), or from a form that asks for one
 * (`make token USER=alice TENANT=acme` prints one).
 */
import { StrictMode, useState, type FormEvent, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import type { SessionType } from "./api-types";
import { AIChatWidget, type AIChatTheme } from "./ai-chat-widget";

export interface AIChatDemoConfig {
  apiBaseUrl?: string;
  /** Where POST /chat/stream is, when not at apiBaseUrl (the stack's StreamUrl). */
  streamUrl?: string;
  /** false: replies come whole, from POST /chat. */
  stream?: boolean;
  token?: string | null;
  sessionType?: SessionType;
  theme?: AIChatTheme;
  context?: Record<string, unknown>;
  /** Where the token form goes; a new element at the end of <body> by default. */
  mount?: string;
}

declare global {
  interface Window {
    AIChatDemo?: AIChatDemoConfig;
  }
}

const TOKEN_KEY = "ai-chat-demo:token";

function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function addressToken(): string | null {
  return new URLSearchParams(window.location.hash.slice(1)).get("token");
}

function Demo({ config }: { config: AIChatDemoConfig }): ReactNode {
  const [token, setToken] = useState(config.token || addressToken() || storedToken() || "");
  const [draft, setDraft] = useState("");

  const save = (e: FormEvent): void => {
    e.preventDefault();
    const value = draft.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      // Blocked storage: the token lasts until the page is closed.
    }
    setToken(value);
  };

  return (
    <>
      {!token && (
        <form onSubmit={save} aria-label="Dev token">
          <p>
            Paste a dev token to try the widget (in the repository: <code>make token USER=alice TENANT=acme</code>).
          </p>
          <input value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Token" size={50} />{" "}
          <button type="submit">Use this token</button>
        </form>
      )}
      {token && (
        <AIChatWidget
          apiBaseUrl={config.apiBaseUrl ?? ""}
          streamUrl={config.streamUrl}
          stream={config.stream}
          getToken={() => token}
          sessionType={config.sessionType ?? "customer_support"}
          theme={config.theme ?? "auto"}
          context={config.context ?? { currentPage: "local demo" }}
        />
      )}
    </>
  );
}

const config = window.AIChatDemo ?? {};
let mount = config.mount ? document.querySelector(config.mount) : null;
if (!mount) {
  mount = document.createElement("div");
  document.body.appendChild(mount);
}
createRoot(mount).render(
  <StrictMode>
    <Demo config={config} />
  </StrictMode>,
);
