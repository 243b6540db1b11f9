import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import type { AgentTransport } from "./agent-transport";
import { AGENT_INBOX_CSS } from "./agent-inbox-styles";
import type { HistoryMessageBody, WaitingSessionBody } from "./api-types";
import type { Labels } from "./labels";
import { resolveLabels, type LocaleName } from "./locales";
import { Markdown } from "./markdown";
import { errorSentence, markerText } from "./server-text";
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
  /** The list's heading (default: the labels' `inboxTitle`, "Waiting for a person"). */
  title?: string;
  /** The language of every word the inbox shows: `en` (the default) or `de`; `labels` changes single ones. */
  locale?: LocaleName;
  /** Words of the inbox's own over the locale's, by key (the `inbox…` keys of `Labels`, and the server's words). */
  labels?: Partial<Labels>;
  /** The colours: `light` (the default), `dark`, or `auto`, which follows the system's (`prefers-color-scheme`). */
  theme?: "light" | "dark" | "auto";
}

function author(labels: Labels, message: HistoryMessageBody): string {
  if (message.role === "user") return labels.inboxAuthorCustomer;
  if (message.role === "assistant") return labels.inboxAuthorAssistant;
  return message.agent_name ?? labels.aPerson;
}

function WaitingEntry({ entry, open, onOpen, labels }: { entry: WaitingSessionBody; open: boolean; onOpen(): void;
  labels: Labels }): ReactNode {
  return (
    <li>
      <button type="button" className={`inbox-entry${open ? " inbox-entry-open" : ""}`} aria-current={open || undefined}
        onClick={onOpen}>
        <span className="inbox-reason">{entry.reason ?? labels.inboxNoReason}</span>
        <span className="inbox-meta">
          {labels.inboxEntryMeta(entry.user_id, labels.inboxWaited(entry.waiting_seconds), entry.taken_by_name ?? null)}
        </span>
        {entry.last_customer_message && <span className="inbox-last">“{entry.last_customer_message}”</span>}
        <ContextSummary context={entry.context} more={labels.inboxContextMore} />
      </button>
    </li>
  );
}

function Message({ message, labels }: { message: HistoryMessageBody; labels: Labels }): ReactNode {
  if (message.role === "agent" && message.handoff) {
    return (
      <li className="inbox-marker" data-handoff={message.handoff}>
        {markerText(labels, { handoff: message.handoff, agentName: message.agent_name, content: message.content })}
      </li>
    );
  }
  return (
    <li className={`inbox-msg inbox-msg-${message.role}`} data-role={message.role}>
      <span className="inbox-author">{author(labels, message)}</span>
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
  const labels = resolveLabels(props.locale, props.labels);
  const title = props.title ?? labels.inboxTitle;
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
      setAnnouncement(labels.inboxCustomerWrote(last.content));
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
    <section className="aichat-inbox" lang={labels.lang} dir={labels.dir} data-theme={props.theme ?? "light"}
      aria-label={props.title ?? labels.inboxRegion}>
      <style>{AGENT_INBOX_CSS}</style>
      <div className="inbox-layout" data-view={inbox.openId ? view : "list"}>
        {inbox.error && (
          <p role="alert" className="inbox-error">
            {inbox.failure && (labels.errors[inbox.failure.code] ?? labels.errorKinds)
              ? errorSentence(labels, inbox.failure) : inbox.error}
          </p>
        )}
        <div className="inbox-list" ref={listRef}>
          <h2 tabIndex={-1}>{title}</h2>
          {inbox.waiting.length === 0 ? <p className="inbox-empty">{labels.inboxNobodyWaiting}</p> : (
            <ul aria-label={labels.inboxWaitingList}>
              {inbox.waiting.map((entry) => (
                <WaitingEntry key={entry.session_id} entry={entry} open={entry.session_id === inbox.openId}
                  onOpen={() => openEntry(entry)} labels={labels} />
              ))}
            </ul>
          )}
          {inbox.hasMore && <button type="button" onClick={() => void inbox.loadMore()}>{labels.inboxLoadMore}</button>}
        </div>
        <div className="inbox-conversation">
          {!inbox.openId ? <p className="inbox-empty">{labels.inboxOpenFromList}</p> : (
            <>
              <div className="inbox-header">
                <button type="button" ref={backRef} className="inbox-back" onClick={() => {
                  moved.current = true;
                  setView("list");
                }}>{labels.inboxBack}</button>
                <h3 className="inbox-title">{current ? labels.inboxCustomer(current.user_id) : labels.inboxConversation}</h3>
                <p className="inbox-status">
                  {inbox.session ? (escalated
                    ? (inbox.session.taken_by_name ? labels.inboxHasIt(inbox.session.taken_by_name) : labels.inboxNobodyAnswered)
                    : inbox.session.status === "active" ? labels.inboxHandedBack : labels.inboxClosed) : labels.inboxLoading}
                </p>
                <ContextDetails context={current?.context} />
              </div>
              {/* The log is the scrolling box (focusable, so a keyboard can scroll it) around a real list; not live
                  itself: the region below says the customer's new messages, once each. */}
              <div className="inbox-messages" role="log" aria-label={labels.inboxConversation} aria-live="off" tabIndex={0}>
                <ol>{inbox.messages.map((m) => <Message key={m.id} message={m} labels={labels} />)}</ol>
              </div>
              <p className="sr-only" aria-live="polite">{announcement}</p>
              {escalated && (
                <>
                  <form className="inbox-reply" onSubmit={send} aria-label={labels.inboxReplyForm}>
                    <textarea value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey} rows={3}
                      aria-label={labels.inboxYourReply} placeholder={labels.inboxReplyPlaceholder} disabled={inbox.busy} />
                    <button type="submit" disabled={inbox.busy || !draft.trim()}>{labels.send}</button>
                  </form>
                  <p className="inbox-hint">{labels.inboxHint}</p>
                  <div className="inbox-actions">
                    {!inbox.session?.taken_by_name && (
                      <button type="button" disabled={inbox.busy} onClick={() => void inbox.take().catch(() => undefined)}>
                        {labels.inboxTake}
                      </button>
                    )}
                    <button type="button" disabled={inbox.busy} onClick={() => void inbox.release("ai").catch(() => undefined)}>
                      {labels.inboxHandBack}
                    </button>
                    <button type="button" disabled={inbox.busy} onClick={() => void inbox.release("closed").catch(() => undefined)}>
                      {labels.inboxClose}
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
