import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import type { AgentTransport } from "./agent-transport";
import { AGENT_INBOX_CSS } from "./agent-inbox-styles";
import type { HistoryMessageBody, WaitingSessionBody } from "./api-types";
import { Markdown } from "./markdown";
import { ContextDetails, ContextSummary } from "./session-context";
import { useAgentInbox, type AgentInboxEventHandlers } from "./use-agent-inbox";

/**
 * The inbox's props: its connection, how often it looks, what it shows, and the callbacks onReply, onTake, onRelease,
 * onError.
 */
export interface AIChatAgentInboxProps extends AgentInboxEventHandlers {
  /** The stack's ApiUrl; "" for this page's origin. */
  apiBaseUrl?: string;
  /** A token of a person of the support team (a STAFF_ROLES role), asked for before each request. */
  getToken?: () => string | Promise<string>;
  /** Replaces the network (tests, or an app's own client). */
  transport?: AgentTransport;
  /** Milliseconds between looks at the waiting list and, while it is escalated, the open conversation (default 4000). */
  pollMs?: number;
  /** The list's heading and the inbox's accessible name (default "Waiting for a person"). */
  title?: string;
  /** The colours: `light` (the default), `dark`, or `auto`, which follows the system's (`prefers-color-scheme`). */
  theme?: "light" | "dark" | "auto";
}

function waited(seconds: number): string {
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

function author(message: HistoryMessageBody): string {
  if (message.role === "user") return "Customer";
  if (message.role === "assistant") return "Assistant";
  return message.agent_name ?? "A person";
}

function WaitingEntry({ entry, open, onOpen }: { entry: WaitingSessionBody; open: boolean; onOpen(): void }): ReactNode {
  return (
    <li>
      <button type="button" className={`inbox-entry${open ? " inbox-entry-open" : ""}`} aria-current={open || undefined}
        onClick={onOpen}>
        <span className="inbox-reason">{entry.reason ?? "No reason given"}</span>
        <span className="inbox-meta">
          customer {entry.user_id} · waiting {waited(entry.waiting_seconds)} · {entry.taken_by_name ? `taken by ${entry.taken_by_name}` : "not taken"}
        </span>
        {entry.last_customer_message && <span className="inbox-last">“{entry.last_customer_message}”</span>}
        <ContextSummary context={entry.context} more={(n) => `+${n} more`} />
      </button>
    </li>
  );
}

function Message({ message }: { message: HistoryMessageBody }): ReactNode {
  if (message.role === "agent" && message.handoff) {
    return <li className="inbox-marker" data-handoff={message.handoff}>{message.content}</li>;
  }
  return (
    <li className={`inbox-msg inbox-msg-${message.role}`} data-role={message.role}>
      <span className="inbox-author">{author(message)}</span>
      {message.role === "assistant"
        ? <div className="inbox-md"><Markdown source={message.content} /></div>
        : <p className="inbox-text">{message.content}</p>}
    </li>
  );
}

/**
 * The agent inbox for a platform's admin app: the tenant's conversations waiting for a person, one conversation
 * with the customer's, the AI's and the persons' messages, a reply box, and handing it back to the AI or closing it.
 * Two columns, or, when the inbox itself is narrow (a phone: a container query on its own width, not the
 * viewport's), one at a time: the list, or the open conversation with a way back to the list.
 */
export function AIChatAgentInbox(props: AIChatAgentInboxProps): ReactNode {
  const inbox = useAgentInbox({ transport: props.transport, apiBaseUrl: props.apiBaseUrl ?? "", getToken: props.getToken,
    pollMs: props.pollMs, onReply: props.onReply, onTake: props.onTake, onRelease: props.onRelease, onError: props.onError });
  const [draft, setDraft] = useState("");
  const [announcement, setAnnouncement] = useState("");
  // The column a narrow inbox shows, and the entry that was opened (the list may drop it: released, or taken off).
  const [view, setView] = useState<"list" | "conversation">("list");
  const [opened, setOpened] = useState<WaitingSessionBody | null>(null);
  const moved = useRef(false);
  const backRef = useRef<HTMLButtonElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const seen = useRef<string | null>(null);

  // Say the customer's new messages once each, not the whole conversation when it is opened.
  useEffect(() => {
    const last = inbox.messages.at(-1);
    if (!last) return;
    if (seen.current !== null && seen.current !== last.id && last.role === "user") {
      setAnnouncement(`The customer wrote: ${last.content}`);
    }
    seen.current = last.id;
  }, [inbox.messages]);
  useEffect(() => {
    seen.current = null;
  }, [inbox.openId]);
  // In one column the pressed button goes with its column: focus moves to the other column's way back, or to the
  // open entry (the list's heading once the entry has left the list). Only the narrow layout shows the way back, so
  // only there (where the target has a box) does focus move.
  useEffect(() => {
    if (!moved.current) return;
    moved.current = false;
    const list = listRef.current;
    const target = view === "conversation" ? backRef.current
      : list?.querySelector<HTMLElement>(".inbox-entry[aria-current]") ?? list?.querySelector<HTMLElement>("h2");
    if (target && target.getClientRects().length > 0) target.focus();
  }, [view]);

  const openEntry = (entry: WaitingSessionBody): void => {
    setOpened(entry);
    moved.current = view !== "conversation";
    setView("conversation");
    void inbox.open(entry.session_id);
  };

  const escalated = inbox.session?.status === "escalated";
  // The list's entry is read again at each look: a context or a customer is shown from the latest one there is.
  const current = inbox.waiting.find((w) => w.session_id === inbox.openId) ?? (opened?.session_id === inbox.openId ? opened : null);

  const send = (e?: FormEvent): void => {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || inbox.busy) return;
    inbox.reply(text).then(() => setDraft(""), () => undefined); // the failure is in inbox.error
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === "Enter" && !e.shiftKey) send(e);
  };

  return (
    <section className="aichat-inbox" data-theme={props.theme ?? "light"} aria-label={props.title ?? "Conversations waiting for a person"}>
      <style>{AGENT_INBOX_CSS}</style>
      <div className="inbox-layout" data-view={inbox.openId ? view : "list"}>
        {inbox.error && <p role="alert" className="inbox-error">{inbox.error}</p>}
        <div className="inbox-list" ref={listRef}>
          <h2 tabIndex={-1}>{props.title ?? "Waiting for a person"}</h2>
          {inbox.waiting.length === 0 ? <p className="inbox-empty">Nobody is waiting.</p> : (
            <ul aria-label="Waiting conversations">
              {inbox.waiting.map((entry) => (
                <WaitingEntry key={entry.session_id} entry={entry} open={entry.session_id === inbox.openId}
                  onOpen={() => openEntry(entry)} />
              ))}
            </ul>
          )}
          {inbox.hasMore && <button type="button" onClick={() => void inbox.loadMore()}>Load more</button>}
        </div>
        <div className="inbox-conversation">
          {!inbox.openId ? <p className="inbox-empty">Open a conversation from the list.</p> : (
            <>
              <div className="inbox-header">
                <button type="button" ref={backRef} className="inbox-back" onClick={() => {
                  moved.current = true;
                  setView("list");
                }}>Back to the list</button>
                <h3 className="inbox-title">{current ? `Customer ${current.user_id}` : "Conversation"}</h3>
                <p className="inbox-status">
                  {inbox.session ? (escalated
                    ? (inbox.session.taken_by_name ? `${inbox.session.taken_by_name} has this conversation` : "Nobody has answered yet")
                    : inbox.session.status === "active" ? "Handed back to the assistant" : "Closed") : "Loading…"}
                </p>
                <ContextDetails context={current?.context} />
              </div>
              {/* The log is the scrolling box (focusable, so a keyboard can scroll it) around a real list; not live
                  itself: the region below says the customer's new messages, once each. */}
              <div className="inbox-messages" role="log" aria-label="Conversation" aria-live="off" tabIndex={0}>
                <ol>{inbox.messages.map((m) => <Message key={m.id} message={m} />)}</ol>
              </div>
              <p className="sr-only" aria-live="polite">{announcement}</p>
              {escalated && (
                <>
                  <form className="inbox-reply" onSubmit={send} aria-label="Reply to the customer">
                    <textarea value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey} rows={3}
                      aria-label="Your reply" placeholder="Write to the customer…" disabled={inbox.busy} />
                    <button type="submit" disabled={inbox.busy || !draft.trim()}>Send</button>
                  </form>
                  <p className="inbox-hint">Enter sends, Shift+Enter adds a line</p>
                  <div className="inbox-actions">
                    {!inbox.session?.taken_by_name && (
                      <button type="button" disabled={inbox.busy} onClick={() => void inbox.take().catch(() => undefined)}>
                        Take conversation
                      </button>
                    )}
                    <button type="button" disabled={inbox.busy} onClick={() => void inbox.release("ai").catch(() => undefined)}>
                      Hand back to AI
                    </button>
                    <button type="button" disabled={inbox.busy} onClick={() => void inbox.release("closed").catch(() => undefined)}>
                      Close conversation
                    </button>
                  </div>
                </>
              )}
            </>
          )}
        </div>
      </div>
    </section>
  );
}
