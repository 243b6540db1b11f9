import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import type { AIChatConnection } from "./ai-chat-provider";
import type { ChatContext, SessionType } from "./api-types";
import type { ChatClient } from "./chat-client";
import type { ChatEventHandlers } from "./chat-events";
import type { ChatApiError } from "./chat-error";
import { TAKEN_BY_PERSON, type ChatMessage } from "./chat-state";
import { FunctionCallList } from "./function-calls";
import { Markdown } from "./markdown";
import { ReplyAnnouncer } from "./reply-announcer";
import { ShadowHost } from "./shadow-host";
import { useAIChat, type UseAIChatResult } from "./use-ai-chat";
import { ChatIcon, ChevronDownIcon, MinimiseIcon, PlusIcon, ThumbIcon } from "./widget-icons";
import { WIDGET_CSS } from "./widget-styles";

export { REPLYING_ANNOUNCEMENT } from "./reply-announcer";

export type AIChatTheme = "light" | "dark" | "auto";

/** The corner of the page the launcher (and the panel above it) sits in. */
export type AIChatPosition = "bottom-right" | "bottom-left";

/**
 * The widget's props: a connection (AIChatConnection's apiBaseUrl, streamUrl, stream, getToken, transport, storage;
 * or a provider around it, or a client), what it shows, and the callbacks: onMessage, onEscalate and onError (from
 * ChatEventHandlers, each told once per event, the latest function given called) and onOpenChange.
 */
export interface AIChatWidgetProps extends AIChatConnection, ChatEventHandlers {
  /** Which assistant; each type keeps its own conversation. Defaults to customer_support. */
  sessionType?: SessionType;
  /** Sent with every message: the page, the user's role, what they are looking at. */
  context?: ChatContext;
  /**
   * `auto` (the default) follows the system's light or dark preference. The brand's colour, corners and font are
   * the host's CSS custom properties (--ai-chat-accent, --ai-chat-accent-text, --ai-chat-radius, --ai-chat-font).
   */
  theme?: AIChatTheme;
  /** Where the launcher sits: `bottom-right` (the default) or `bottom-left`. */
  position?: AIChatPosition;
  /** The panel's heading, and the launcher's name ("Open …") (default "AI assistant"). */
  title?: string;
  /** Start opened instead of as the launcher button. */
  defaultOpen?: boolean;
  /** The message box's placeholder (default "Type a message…"). */
  placeholder?: string;
  /** Use this client (shared with a useAIChat({ client }) elsewhere) instead of one from a provider or the props. */
  client?: ChatClient;
  /** While a person of the support team has the conversation: how often (ms) to look for their replies. */
  handoffPollMs?: number;
  /**
   * With no conversation stored in this browser, go on with the user's newest one of `sessionType` that is active or
   * escalated (GET /sessions/my), when the panel opens. Default false.
   */
  resume?: boolean;
  /**
   * The chat panel was opened (true) or closed (false) by the person: the launcher, Minimise, or Escape. Not
   * called for `defaultOpen`'s first state.
   */
  onOpenChange?: (open: boolean) => void;
}

// Sent when the person asks for a human without saying why: the API needs a reason, the person need not give one.
const DEFAULT_ESCALATION_REASON = "The user asked to talk to a person from the chat widget.";
const ignore = (): void => undefined;

/** The floating chat: a launcher button in a bottom corner that opens the conversation panel. */
export function AIChatWidget(props: AIChatWidgetProps): ReactNode {
  const { theme = "auto", position = "bottom-right", title = "AI assistant", defaultOpen = false,
    placeholder = "Type a message…" } = props;
  const chat = useAIChat({ ...props, loadHistory: false });
  const [open, setOpenState] = useState(defaultOpen);
  // Called from the handlers that open and close the panel (not an effect), so onOpenChange is told once per change.
  const setOpen = (next: boolean): void => {
    if (next === open) return;
    setOpenState(next);
    props.onOpenChange?.(next);
  };
  const launcherRef = useRef<HTMLButtonElement>(null);
  const panelId = useId();

  useEffect(() => {
    if (open) chat.loadHistory().catch(ignore); // a failure is shown in the panel, with a retry
  }, [open, chat.loadHistory]);

  const minimise = (): void => {
    setOpen(false);
    // The panel and its focused element are gone; put focus where the person can reopen it.
    requestAnimationFrame(() => launcherRef.current?.focus());
  };

  return (
    <ShadowHost css={WIDGET_CSS}>
      <div className="root" data-theme={theme} data-position={position} data-open={open || undefined}>
        {open && <ChatPanel id={panelId} chat={chat} title={title} placeholder={placeholder} onMinimise={minimise} />}
        <button
          ref={launcherRef}
          type="button"
          className="launcher"
          aria-expanded={open}
          aria-controls={open ? panelId : undefined}
          aria-label={open ? `Minimise ${title}` : `Open ${title}`}
          onClick={() => (open ? minimise() : setOpen(true))}
        >
          {open ? <ChevronDownIcon /> : <ChatIcon />}
        </button>
      </div>
    </ShadowHost>
  );
}

// The panel fills a phone's screen (widget-styles.ts) and hides the page: Tab stays in it there, as in a dialog.
const FULL_SCREEN = "(max-width: 480px)";
const FOCUSABLE = "button:not([disabled]), textarea:not([disabled]), input:not([disabled]), a[href], [tabindex]";

/** On a phone, Tab from the panel's last control goes to its first (Shift+Tab the other way), never behind it. */
function keepFocusOnScreen(e: KeyboardEvent<HTMLElement>): void {
  if (typeof window.matchMedia !== "function" || !window.matchMedia(FULL_SCREEN).matches) return;
  const controls = [...e.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)]
    .filter((c) => c.tabIndex >= 0 && c.getClientRects().length > 0);
  const first = controls[0];
  const last = controls[controls.length - 1];
  const active = (e.currentTarget.getRootNode() as Document | ShadowRoot).activeElement;
  if (!first || !last) return;
  if (e.shiftKey && active === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && active === last) {
    e.preventDefault();
    first.focus();
  }
}

interface PanelProps {
  id: string;
  chat: UseAIChatResult;
  title: string;
  placeholder: string;
  onMinimise: () => void;
}

function ChatPanel({ id, chat, title, placeholder, onMinimise }: PanelProps): ReactNode {
  const [draft, setDraft] = useState("");
  const [escalating, setEscalating] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const headingId = useId();
  const { sessionStatus, status, error, failedAction, isSending } = chat;
  const withPerson = sessionStatus === "escalated";
  const closed = sessionStatus !== null && sessionStatus !== "active" && !withPerson;
  const loading = status === "loading";
  const hasReply = chat.chatHistory.some((m) => m.role === "assistant");

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  const send = (): void => {
    if (!draft.trim() || !chat.canSend || isSending) return;
    chat.sendMessage(draft).catch(ignore); // the failed message and the error are in the state
    setDraft("");
  };

  const stop = (): void => {
    chat.stop().catch(ignore); // a stop that failed is an error in the state, with a retry
    // The button goes once the reply has ended: the person will type next, so focus is not left on nothing.
    inputRef.current?.focus();
  };

  const onSubmit = (e: FormEvent): void => {
    e.preventDefault();
    send();
  };

  const onInputKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    // Enter sends, Shift+Enter is a new line; Enter that confirms an IME composition is neither.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const onPanelKeyDown = (e: KeyboardEvent<HTMLElement>): void => {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (escalating) setEscalating(false);
      else onMinimise();
    }
    if (e.key === "Tab") keepFocusOnScreen(e);
  };

  const startNew = (): void => {
    chat.startNewSession();
    setEscalating(false);
    inputRef.current?.focus();
  };

  return (
    <section id={id} className="panel" aria-labelledby={headingId} onKeyDown={onPanelKeyDown}>
      <header className="header">
        <h2 className="title" id={headingId}>
          {title}
          <span className="subtitle">{subtitle(sessionStatus)}</span>
        </h2>
        <button type="button" className="icon-button" onClick={startNew} aria-label="Start a new conversation"
          title="New conversation" disabled={chat.chatHistory.length === 0 && chat.sessionId === null}>
          <PlusIcon />
        </button>
        <button type="button" className="icon-button" onClick={onMinimise} aria-label="Minimise chat" title="Minimise">
          <MinimiseIcon />
        </button>
      </header>

      <MessageLog chat={chat} loading={loading} />
      <ReplyAnnouncer chat={chat} />

      {error && failedAction && <ErrorNotice error={error} chat={chat} onStartNew={startNew} />}

      {withPerson && <HandoffNotice chat={chat} onWithdrawn={() => inputRef.current?.focus()} />}
      {closed && (
        <div className="notice" role="status">
          This conversation is closed.
          <div className="form-actions">
            <button type="button" className="small-button" onClick={startNew}>Start a new conversation</button>
          </div>
        </div>
      )}

      {escalating && !closed && !withPerson && <EscalateForm chat={chat} onDone={() => setEscalating(false)} />}

      {hasReply && <SessionRating chat={chat} />}

      <form className="composer" onSubmit={onSubmit}>
        <textarea
          ref={inputRef}
          rows={1}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onInputKeyDown}
          placeholder={closed ? "This conversation is closed" : placeholder}
          aria-label="Message"
          maxLength={10000}
          disabled={closed}
        />
        {(chat.canStop || chat.isStopping) && (
          <button type="button" className="small-button stop" onClick={stop} disabled={chat.isStopping}>
            {chat.isStopping ? "Stopping…" : "Stop"}
          </button>
        )}
        <button type="submit" className="primary-button send" disabled={closed || loading || isSending || !draft.trim()}>
          Send
        </button>
      </form>
      <div className="toolbar">
        <button type="button" className="link-button" onClick={() => setEscalating(true)}
          disabled={closed || withPerson || escalating || isSending}>
          Talk to a person
        </button>
        <span className="meta hint">Shift+Enter for a new line</span>
      </div>
    </section>
  );
}

/**
 * While a person has the conversation: who is answering (or that someone will), that messages go to them, and a
 * way to take the request back while nobody has taken it.
 */
function HandoffNotice({ chat, onWithdrawn }: { chat: UseAIChatResult; onWithdrawn: () => void }): ReactNode {
  const [withdrawing, setWithdrawing] = useState(false);
  const withdraw = (): void => {
    setWithdrawing(true);
    chat.withdrawEscalation().then(onWithdrawn, ignore).finally(() => setWithdrawing(false));
  };
  return (
    <div className="notice" role="status">
      {chat.takenBy ? (
        <><strong>{chat.takenBy} is answering.</strong> They are from our support team and will reply here.</>
      ) : (
        <><strong>A person will reply here.</strong> We have passed this conversation to our support team. You can
          keep writing: your messages go to them.</>
      )}
      {chat.handoffCheckFailing && (
        <div className="handoff-offline">New messages could not be checked for; still trying.</div>
      )}
      {chat.canWithdraw && (
        <div className="form-actions">
          <button type="button" className="small-button" onClick={withdraw} disabled={withdrawing}>
            Cancel request
          </button>
        </div>
      )}
    </div>
  );
}

function subtitle(sessionStatus: string | null): string {
  if (sessionStatus === "escalated") return "Handed to our support team";
  if (sessionStatus === "completed" || sessionStatus === "abandoned") return "Conversation closed";
  return "Answers are AI-generated";
}

function MessageLog({ chat, loading }: { chat: UseAIChatResult; loading: boolean }): ReactNode {
  const logRef = useRef<HTMLDivElement>(null);
  const firstId = chat.chatHistory[0]?.key;
  const last = chat.chatHistory[chat.chatHistory.length - 1];
  const lastId = last?.key;
  const previous = useRef<{ firstId?: string; lastId?: string; height: number }>({ height: 0 });
  const atBottom = useRef(true);
  const streaming = chat.chatHistory.some((m) => m.status === "streaming");

  useLayoutEffect(() => {
    const log = logRef.current;
    if (!log) return;
    const before = previous.current;
    if (before.lastId === lastId && before.firstId !== firstId && before.firstId !== undefined) {
      // Earlier messages were put in front: keep the ones being read where they were.
      log.scrollTop += log.scrollHeight - before.height;
    } else {
      log.scrollTop = log.scrollHeight;
    }
    previous.current = { firstId, lastId, height: log.scrollHeight };
  }, [firstId, lastId, chat.isSending]);

  useLayoutEffect(() => {
    // A streaming reply grows: keep its newest words in view, unless the person scrolled up to read.
    const log = logRef.current;
    if (log && atBottom.current) log.scrollTop = log.scrollHeight;
  }, [last?.content, last?.functionCalls]);

  useEffect(() => {
    const log = logRef.current;
    if (!log) return;
    const onScroll = (): void => {
      atBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    };
    log.addEventListener("scroll", onScroll, { passive: true });
    if (typeof ResizeObserver === "undefined") return () => log.removeEventListener("scroll", onScroll);
    // When a notice or the rating row appears below, the log gets shorter: keep the latest message in view.
    const observer = new ResizeObserver(() => {
      if (atBottom.current) log.scrollTop = log.scrollHeight;
    });
    observer.observe(log);
    return () => {
      log.removeEventListener("scroll", onScroll);
      observer.disconnect();
    };
  }, []);

  return (
    <div ref={logRef} className="log" role="log" aria-live="off" aria-busy={chat.isSending || loading}
      aria-label="Conversation" tabIndex={0}>
      {chat.hasOlder && (
        <button type="button" className="older" onClick={() => chat.loadOlder().catch(ignore)}>
          Show earlier messages
        </button>
      )}
      {loading && <p className="empty">Loading your conversation…</p>}
      {!loading && chat.chatHistory.length === 0 && (
        <p className="empty">Hi! Ask a question and the assistant will answer here.</p>
      )}
      {chat.chatHistory.map((message) => (
        // Keyed by what stays the same while a reply streams and when it is stored: its node is kept, not remade.
        <Message key={message.key} message={message} chat={chat} />
      ))}
      {/* Until the reply's own message is there (a streaming reply shows the dots in its bubble). */}
      {chat.isSending && !streaming && chat.sessionStatus !== "escalated" && (
        <div className="msg msg-assistant typing">
          <span className="sr-only">The assistant is typing…</span>
          <div className="bubble" aria-hidden="true">
            <TypingDots />
          </div>
        </div>
      )}
    </div>
  );
}

function TypingDots(): ReactNode {
  return (
    <>
      <span className="dot" />
      <span className="dot" />
      <span className="dot" />
    </>
  );
}

/** Why a reply ended early, in words, when the person should know; null when the reply says it itself. */
function stoppedNote(stopped: string | null): string | null {
  if (stopped === "stopped") return "Stopped";
  if (stopped?.startsWith("provider_")) return "Cut short: the assistant stopped answering. Send your message again for the rest.";
  return null;
}

function Message({ message, chat }: { message: ChatMessage; chat: UseAIChatResult }): ReactNode {
  // A person joining or leaving is a line across the log, not something anyone said.
  if (message.role === "agent" && message.handoff) {
    return <p className="handoff-marker" data-role="agent" data-handoff={message.handoff}>{message.content}</p>;
  }
  const mine = message.role === "user";
  const failed = message.status === "failed";
  const streaming = message.status === "streaming";
  // A failed message can be sent again unless the reason it failed would just happen again.
  const retryable = failed && chat.canSend && (message.error === null || message.error.retryable);
  const calls = mine ? [] : message.functionCalls;
  // A person took the session while this reply was written: the conversation is theirs from there, so none of the
  // model's words are shown (the server kept none), only the tools that ran before the take, if any.
  const overtaken = message.role === "assistant" && message.stopped === TAKEN_BY_PERSON && !streaming;
  if (overtaken && calls.length === 0) return null;
  const waiting = streaming && message.content.trim() === "";
  const note = mine ? null : stoppedNote(message.stopped);
  // A reply can be rated once it has the API's id (a streaming one gets it when it is stored).
  const rateable = message.role === "assistant" && !message.id.startsWith("local-") && chat.sessionId !== null;
  return (
    <div className={`msg ${mine ? "msg-user" : "msg-assistant"}${message.role === "agent" ? " msg-agent" : ""}${failed ? " msg-failed" : ""}${waiting ? " typing" : ""}`}
      data-role={message.role} data-status={message.status} data-stopped={message.stopped ?? undefined}>
      <span className="sr-only">{mine ? "You said:" : message.role === "agent" ? `${message.agentName ?? "A person"} said:`
        : "The assistant said:"}</span>
      {message.role === "agent" && <div className="meta agent-name">{message.agentName ?? "A person"} (support team)</div>}
      {calls.length > 0 && <FunctionCallList calls={calls} />}
      {/* A turn that ended with its tools (a hand-over to a person) may have no text: then the list is the reply. */}
      {!overtaken && (mine || streaming || calls.length === 0 || message.content.trim() !== "") && (
        <div className="bubble">
          {mine ? message.content : waiting ? <TypingDots /> : <Markdown source={message.content} />}
        </div>
      )}

      {failed && (
        <div className="meta">
          <span className="failed-note">Not sent.</span>
          {retryable && (
            <button type="button" className="link-button" onClick={() => chat.retry(message.id).catch(ignore)}
              disabled={chat.isSending}>
              Retry
            </button>
          )}
        </div>
      )}
      {(note || rateable) && (
        <div className="meta">
          {note && <span className="stopped-note">{note}</span>}
          {rateable && <ReplyRating message={message} chat={chat} />}
        </div>
      )}
    </div>
  );
}

function ReplyRating({ message, chat }: { message: ChatMessage; chat: UseAIChatResult }): ReactNode {
  const rate = (rating: "up" | "down"): void => {
    chat.rateMessage(message.id, rating).catch(ignore);
  };
  return (
    <>
      <button type="button" className="rate" aria-label="Helpful" title="Helpful" aria-pressed={message.rating === "up"}
        onClick={() => rate("up")}>
        <ThumbIcon />
      </button>
      <button type="button" className="rate" aria-label="Not helpful" title="Not helpful"
        aria-pressed={message.rating === "down"} onClick={() => rate("down")}>
        <ThumbIcon down />
      </button>
    </>
  );
}

function ErrorNotice({ error, chat, onStartNew }: { error: ChatApiError; chat: UseAIChatResult; onStartNew: () => void }): ReactNode {
  // A limit of this session, or a session that is gone, is cured by a new session; a daily limit is not.
  const newSessionHelps =
    error.kind === "not-found" || error.kind === "session-closed" || error.code.startsWith("session_");
  const what: Record<string, string> = {
    send: "Your message was not sent.",
    load: "Your conversation could not be loaded.",
    older: "Earlier messages could not be loaded.",
    feedback: "Your rating was not saved.",
    rate: "Your rating was not saved.",
    escalate: "Your request for a person was not sent.",
    stop: "The reply could not be stopped.",
    withdraw: "Your request for a person could not be cancelled.",
  };
  // A request a person has taken stays theirs: asking again cannot help.
  const retryable = error.retryable;
  return (
    <div className="error" role="alert" data-code={error.code}>
      {chat.failedAction ? <strong>{what[chat.failedAction]} </strong> : null}
      {error.message}
      <div className="error-actions">
        {retryable && (
          <button type="button" className="small-button" onClick={() => chat.retry().catch(ignore)}>
            Try again
          </button>
        )}
        {newSessionHelps && chat.failedAction !== "load" && (
          <button type="button" className="small-button" onClick={onStartNew}>Start a new conversation</button>
        )}
      </div>
    </div>
  );
}

function SessionRating({ chat }: { chat: UseAIChatResult }): ReactNode {
  const [hover, setHover] = useState(0);
  const [comment, setComment] = useState("");
  const [commented, setCommented] = useState(false);
  const rating = chat.sessionRating;
  const shown = hover || rating || 0;

  const rate = (value: number): void => {
    chat.submitFeedback(value).catch(ignore);
  };
  const sendComment = (e: FormEvent): void => {
    e.preventDefault();
    if (!rating || !comment.trim()) return;
    chat.submitFeedback(rating, comment).then(() => setCommented(true), ignore);
  };

  return (
    <div className="feedback" role="group" aria-label="Rate this conversation">
      <span className="feedback-label">{rating ? "Thanks for your rating." : "How was this conversation?"}</span>
      {[1, 2, 3, 4, 5].map((value) => (
        <button key={value} type="button" className={`star${value <= shown ? " on" : ""}`}
          aria-label={`${value} out of 5`} aria-pressed={rating === value} onClick={() => rate(value)}
          onMouseEnter={() => setHover(value)} onMouseLeave={() => setHover(0)}>
          ★
        </button>
      ))}
      {rating !== null && !commented && (
        <form className="comment" onSubmit={sendComment}>
          <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000}
            aria-label="Anything to add? (optional)" placeholder="Anything to add? (optional)" />
          <button type="submit" className="small-button" disabled={!comment.trim()}>Send</button>
        </form>
      )}
      {commented && <span>Thanks for telling us more.</span>}
    </div>
  );
}

function EscalateForm({ chat, onDone }: { chat: UseAIChatResult; onDone: () => void }): ReactNode {
  const [reason, setReason] = useState("");
  const [sending, setSending] = useState(false);
  const id = useId();
  const fieldRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    fieldRef.current?.focus();
  }, []);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setSending(true);
    chat.escalateSession(reason.trim() || DEFAULT_ESCALATION_REASON).then(onDone, () => setSending(false));
  };

  return (
    <form className="escalate-form" onSubmit={submit} aria-label="Talk to a person">
      <label htmlFor={id}>What should our support team know? (optional)</label>
      <textarea ref={fieldRef} id={id} rows={2} value={reason} maxLength={500}
        onChange={(e) => setReason(e.target.value)} />
      <div className="form-actions">
        <button type="submit" className="primary-button" disabled={sending}>Ask for a person</button>
        <button type="button" className="small-button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}
