/**
 * The browser-ready demo the local server's page loads (dist/demo/ai-chat-demo.js, React included). The page sets
 *   window.AIChatDemo = { apiBaseUrl, streamUrl?, stream?, token?, sessionType?, theme?, context?, resume?, position?,
 *     locale?, labels?, mount? }
 * before loading it. The token comes from there, from the address (`/#token=…`), or from a form that asks for one
 * (`make token USER=alice TENANT=acme` prints one). With `view=staff` in the address (`/#view=staff&token=…`, a token
 * from `make token USER=dana TENANT=acme STAFF=1 NAME="Dana Reyes"`) the page is the staff view: the agent inbox.
 * With `view=settings` it is the tenant's settings, which an admin's token (`ADMIN=1`) reads and changes.
 */
import { StrictMode, useState, type FormEvent, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import type { SessionType } from "./api-types";
import { TenantSettingsPanel } from "./admin-settings-panel";
import { AIChatAgentInbox } from "./agent-inbox";
import type { Labels } from "./labels";
import type { LocaleName } from "./locales";
import { AIChatWidget, type AIChatPosition, type AIChatTheme } from "./ai-chat-widget";

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
  /** Go on with the user's latest open conversation when this browser has none stored (the widget's `resume`). */
  resume?: boolean;
  /** The launcher's corner (the widget's `position`). */
  position?: AIChatPosition;
  /** The language of the widget and the inbox (`en` or `de`), and words of the page's own over it. */
  locale?: LocaleName;
  labels?: Partial<Labels>;
  /** Where the token form goes; a new element at the end of <body> by default. */
  mount?: string;
  /** staff: the agent inbox instead of the customer's widget (also `view=staff` in the address); settings: an
   * admin's Tenant settings panel (`view=settings`), a page of its own so the inbox keeps the whole screen. */
  view?: "customer" | "staff" | "settings";
}

declare global {
  interface Window {
    AIChatDemo?: AIChatDemoConfig;
  }
}

const config = window.AIChatDemo ?? {};
const VIEW = demoView(config);
const STAFF = VIEW !== "customer";
// The staff view keeps its own token, so one browser can hold a customer's tab and a staff member's.
const TOKEN_KEY = STAFF ? "ai-chat-demo:staff-token" : "ai-chat-demo:token";

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

function demoView(config: AIChatDemoConfig): "customer" | "staff" | "settings" {
  const view = config.view ?? new URLSearchParams(window.location.hash.slice(1)).get("view");
  return view === "staff" || view === "settings" ? view : "customer";
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
            {STAFF
              ? <>Paste a staff token to answer waiting conversations (<code>make token USER=dana TENANT=acme STAFF=1 NAME="Dana Reyes"</code>).</>
              : <>Paste a dev token to try the widget (in the repository: <code>make token USER=alice TENANT=acme</code>).</>}
          </p>
          <input value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Token" size={50} />{" "}
          <button type="submit">Use this token</button>
        </form>
      )}
      {token && VIEW === "staff" && (
        <AIChatAgentInbox apiBaseUrl={config.apiBaseUrl ?? ""} getToken={() => token}
          theme={config.theme ?? "light"} locale={config.locale} labels={config.labels} />
      )}
      {token && VIEW === "settings" && (
        <TenantSettingsPanel apiBaseUrl={config.apiBaseUrl ?? ""} getToken={() => token} />
      )}
      {token && !STAFF && (
        <AIChatWidget
          apiBaseUrl={config.apiBaseUrl ?? ""}
          streamUrl={config.streamUrl}
          stream={config.stream}
          getToken={() => token}
          sessionType={config.sessionType ?? "customer_support"}
          theme={config.theme ?? "auto"}
          context={config.context ?? { currentPage: "local demo" }}
          resume={config.resume}
          position={config.position}
          locale={config.locale}
          labels={config.labels}
        />
      )}
    </>
  );
}

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
