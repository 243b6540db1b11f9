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
import type { Labels } from "./labels";
import { LabelsContext, useLabels } from "./labels-context";
import { resolveLabels, type LocaleName } from "./locales";
import { Markdown } from "./markdown";
import { ReplyAnnouncer } from "./reply-announcer";
import { errorSentence, markerText, replyText } from "./server-text";
import { ShadowHost } from "./shadow-host";
import { useAIChat, type UseAIChatResult } from "./use-ai-chat";
import { ChatIcon, ChevronDownIcon, MinimiseIcon, PlusIcon, ThumbIcon, TrashIcon } from "./widget-icons";
import { WIDGET_CSS } from "./widget-styles";

export { REPLYING_ANNOUNCEMENT } from "./reply-announcer";

export type AIChatTheme = "light" | "dark" | "auto";

/** The corner of the page the launcher (and the panel above it) sits in. */
export type AIChatPosition = "bottom-right" | "bottom-left";

/**
 * The widget's props: a connection (AIChatConnection's apiBaseUrl, streamUrl, stream, getToken, transport, storage;
 * or a provider around it, or a client), what it shows, and the callbacks: onMessage, onEscalate, onDelete and
 * onError (from ChatEventHandlers, each told once per event, the latest function given called) and onOpenChange.
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
  /** The panel's heading, and the launcher's name ("Open …") (default: the labels' `title`, "AI assistant"). */
  title?: string;
  /** The language of every word the widget shows: `en` (the default) or `de`; `labels` changes single ones. */
  locale?: LocaleName;
  /** Words of the widget's own over the locale's, by key (each key of `Labels`); also sets `lang` and `dir`. */
  labels?: Partial<Labels>;
  /** Start opened instead of as the launcher button. */
  defaultOpen?: boolean;
  /** The message box's placeholder (default: the labels' `placeholder`, "Type a message…"). */
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

const ignore = (): void => undefined;

/** The floating chat: a launcher button in a bottom corner that opens the conversation panel. */
export function AIChatWidget(props: AIChatWidgetProps): ReactNode {
  const labels = resolveLabels(props.locale, props.labels);
  const { theme = "auto", position = "bottom-right", title = labels.title, defaultOpen = false,
    placeholder = labels.placeholder } = props;
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
      <LabelsContext.Provider value={labels}>
      <div className="root" lang={labels.lang} dir={labels.dir} data-theme={theme} data-position={position}
        data-open={open || undefined}>
        {open && <ChatPanel id={panelId} chat={chat} title={title} placeholder={placeholder} onMinimise={minimise} />}
        <button
          ref={launcherRef}
          type="button"
          className="launcher"
          aria-expanded={open}
          aria-controls={open ? panelId : undefined}
          aria-label={open ? labels.minimiseLauncher(title) : labels.openLauncher(title)}
          onClick={() => (open ? minimise() : setOpen(true))}
        >
          {open ? <ChevronDownIcon /> : <ChatIcon />}
        </button>
      </div>
      </LabelsContext.Provider>
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
  const labels = useLabels();
  const [draft, setDraft] = useState("");
  const [escalating, setEscalating] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [deleted, setDeleted] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
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
      if (confirmingDelete) cancelDelete();
      else if (escalating) setEscalating(false);
      else onMinimise();
    }
    if (e.key === "Tab") keepFocusOnScreen(e);
  };

  const startNew = (): void => {
    chat.startNewSession();
    setEscalating(false);
    setConfirmingDelete(false);
    setDeleted(false);
    inputRef.current?.focus();
  };

  const cancelDelete = (): void => {
    setConfirmingDelete(false);
    // The question is gone: focus goes back to the button that asked it.
    deleteRef.current?.focus();
  };

  const deleteDone = (ok: boolean): void => {
    setConfirmingDelete(false);
    if (ok) {
      setEscalating(false);
      setDeleted(true);
      inputRef.current?.focus();
    } else {
      // The conversation stays, with the error below it; the button is there to ask again.
      deleteRef.current?.focus();
    }
  };

  return (
    <section id={id} className="panel" aria-labelledby={headingId} onKeyDown={onPanelKeyDown}>
      <header className="header">
        <h2 className="title" id={headingId}>
          {title}
          <span className="subtitle">{subtitle(labels, sessionStatus)}</span>
        </h2>
        <button type="button" className="icon-button" onClick={startNew} aria-label={labels.newConversation}
          title={labels.newConversationTip} disabled={chat.chatHistory.length === 0 && chat.sessionId === null}>
          <PlusIcon />
        </button>
        {chat.canDelete && (
          <button ref={deleteRef} type="button" className="icon-button" onClick={() => setConfirmingDelete(true)}
            aria-label={labels.deleteConversation} title={labels.deleteConversation} aria-haspopup="dialog"
            aria-expanded={confirmingDelete} disabled={isSending}>
            <TrashIcon />
          </button>
        )}
        <button type="button" className="icon-button" onClick={onMinimise} aria-label={labels.minimise} title={labels.minimiseTip}>
          <MinimiseIcon />
        </button>
      </header>

      {confirmingDelete && chat.canDelete && <DeleteConfirm chat={chat} onCancel={cancelDelete} onDone={deleteDone} />}
      {deleted && chat.sessionId === null && chat.chatHistory.length === 0 && (
        <div className="notice deleted" role="status">{labels.deletedNotice}</div>
      )}

      <MessageLog chat={chat} loading={loading} />
      <ReplyAnnouncer chat={chat} />

      {error && failedAction && <ErrorNotice error={error} chat={chat} onStartNew={startNew} />}

      {withPerson && <HandoffNotice chat={chat} onWithdrawn={() => inputRef.current?.focus()} />}
      {closed && (
        <div className="notice" role="status">
          {labels.closedNotice}
          <div className="form-actions">
            <button type="button" className="small-button" onClick={startNew}>{labels.newConversation}</button>
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
          placeholder={closed ? labels.closedPlaceholder : placeholder}
          aria-label={labels.messageBox}
          maxLength={10000}
          disabled={closed}
        />
        {(chat.canStop || chat.isStopping) && (
          <button type="button" className="small-button stop" onClick={stop} disabled={chat.isStopping}>
            {chat.isStopping ? labels.stopping : labels.stop}
          </button>
        )}
        <button type="submit" className="primary-button send" disabled={closed || loading || isSending || !draft.trim()}>
          {labels.send}
        </button>
      </form>
      <div className="toolbar">
        <button type="button" className="link-button" onClick={() => setEscalating(true)}
          disabled={closed || withPerson || escalating || isSending}>
          {labels.talkToPerson}
        </button>
        <span className="meta hint">{labels.newLineHint}</span>
      </div>
    </section>
  );
}

/**
 * While a person has the conversation: who is answering (or that someone will), that messages go to them, and a
 * way to take the request back while nobody has taken it.
 */
function HandoffNotice({ chat, onWithdrawn }: { chat: UseAIChatResult; onWithdrawn: () => void }): ReactNode {
  const labels = useLabels();
  const [withdrawing, setWithdrawing] = useState(false);
  const withdraw = (): void => {
    setWithdrawing(true);
    chat.withdrawEscalation().then(onWithdrawn, ignore).finally(() => setWithdrawing(false));
  };
  return (
    <div className="notice" role="status">
      {chat.takenBy ? (
        <><strong>{labels.answering(chat.takenBy)}</strong> {labels.answeringDetail}</>
      ) : (
        <><strong>{labels.personWillReply}</strong> {labels.personWillReplyDetail}</>
      )}
      {chat.handoffCheckFailing && <div className="handoff-offline">{labels.checkFailing}</div>}
      {chat.canWithdraw && (
        <div className="form-actions">
          <button type="button" className="small-button" onClick={withdraw} disabled={withdrawing}>
            {labels.cancelRequest}
          </button>
        </div>
      )}
    </div>
  );
}

function subtitle(labels: Labels, sessionStatus: string | null): string {
  if (sessionStatus === "escalated") return labels.subtitleEscalated;
  if (sessionStatus === "completed" || sessionStatus === "abandoned") return labels.subtitleClosed;
  return labels.subtitleAssistant;
}

function MessageLog({ chat, loading }: { chat: UseAIChatResult; loading: boolean }): ReactNode {
  const labels = useLabels();
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
      aria-label={labels.conversation} tabIndex={0}>
      {chat.hasOlder && (
        <button type="button" className="older" onClick={() => chat.loadOlder().catch(ignore)}>
          {labels.showEarlier}
        </button>
      )}
      {loading && <p className="empty">{labels.loading}</p>}
      {!loading && chat.chatHistory.length === 0 && <p className="empty">{labels.empty}</p>}
      {chat.chatHistory.map((message) => (
        // Keyed by what stays the same while a reply streams and when it is stored: its node is kept, not remade.
        <Message key={message.key} message={message} chat={chat} />
      ))}
      {/* Until the reply's own message is there (a streaming reply shows the dots in its bubble). */}
      {chat.isSending && !streaming && chat.sessionStatus !== "escalated" && (
        <div className="msg msg-assistant typing">
          <span className="sr-only">{labels.typing}</span>
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
function stoppedNote(labels: Labels, stopped: string | null): string | null {
  if (stopped === "stopped") return labels.stoppedNote;
  if (stopped?.startsWith("provider_")) return labels.cutShortNote;
  return null;
}

function Message({ message, chat }: { message: ChatMessage; chat: UseAIChatResult }): ReactNode {
  const labels = useLabels();
  // A person joining or leaving is a line across the log, not something anyone said.
  if (message.role === "agent" && message.handoff) {
    return (
      <p className="handoff-marker" data-role="agent" data-handoff={message.handoff}>
        {markerText(labels, { handoff: message.handoff, agentName: message.agentName, content: message.content })}
      </p>
    );
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
  const note = mine ? null : stoppedNote(labels, message.stopped);
  const person = message.agentName ?? labels.aPerson;
  // A reply can be rated once it has the API's id (a streaming one gets it when it is stored).
  const rateable = message.role === "assistant" && !message.id.startsWith("local-") && chat.sessionId !== null;
  return (
    <div className={`msg ${mine ? "msg-user" : "msg-assistant"}${message.role === "agent" ? " msg-agent" : ""}${failed ? " msg-failed" : ""}${waiting ? " typing" : ""}`}
      data-role={message.role} data-status={message.status} data-stopped={message.stopped ?? undefined}>
      <span className="sr-only">{mine ? labels.youSaid : message.role === "agent" ? labels.personSaid(person)
        : labels.assistantSaid}</span>
      {message.role === "agent" && <div className="meta agent-name">{labels.supportTeamMember(person)}</div>}
      {calls.length > 0 && <FunctionCallList calls={calls} />}
      {/* A turn that ended with its tools (a hand-over to a person) may have no text: then the list is the reply. */}
      {!overtaken && (mine || streaming || calls.length === 0 || message.content.trim() !== "") && (
        <div className="bubble">
          {mine ? message.content : waiting ? <TypingDots /> : <Markdown source={streaming ? message.content : replyText(labels, message)} />}
        </div>
      )}

      {failed && (
        <div className="meta">
          <span className="failed-note">{labels.notSent}</span>
          {retryable && (
            <button type="button" className="link-button" onClick={() => chat.retry(message.id).catch(ignore)}
              disabled={chat.isSending}>
              {labels.retry}
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
  const labels = useLabels();
  const rate = (rating: "up" | "down"): void => {
    chat.rateMessage(message.id, rating).catch(ignore);
  };
  return (
    <>
      <button type="button" className="rate" aria-label={labels.helpful} title={labels.helpful} aria-pressed={message.rating === "up"}
        onClick={() => rate("up")}>
        <ThumbIcon />
      </button>
      <button type="button" className="rate" aria-label={labels.notHelpful} title={labels.notHelpful}
        aria-pressed={message.rating === "down"} onClick={() => rate("down")}>
        <ThumbIcon down />
      </button>
    </>
  );
}

function ErrorNotice({ error, chat, onStartNew }: { error: ChatApiError; chat: UseAIChatResult; onStartNew: () => void }): ReactNode {
  const labels = useLabels();
  // A limit of this session, or a session that is gone, is cured by a new session; a daily limit is not.
  const newSessionHelps =
    error.kind === "not-found" || error.kind === "session-closed" || error.code.startsWith("session_");
  // A request a person has taken stays theirs: asking again cannot help.
  const retryable = error.retryable;
  return (
    <div className="error" role="alert" data-code={error.code}>
      {chat.failedAction ? <strong>{labels.failed[chat.failedAction]} </strong> : null}
      {errorSentence(labels, error)}
      <div className="error-actions">
        {retryable && (
          <button type="button" className="small-button" onClick={() => chat.retry().catch(ignore)}>
            {labels.tryAgain}
          </button>
        )}
        {newSessionHelps && chat.failedAction !== "load" && (
          <button type="button" className="small-button" onClick={onStartNew}>{labels.newConversation}</button>
        )}
      </div>
    </div>
  );
}

function SessionRating({ chat }: { chat: UseAIChatResult }): ReactNode {
  const labels = useLabels();
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
    <div className="feedback" role="group" aria-label={labels.rateConversation}>
      <span className="feedback-label">{rating ? labels.ratingThanks : labels.ratingAsk}</span>
      {[1, 2, 3, 4, 5].map((value) => (
        <button key={value} type="button" className={`star${value <= shown ? " on" : ""}`}
          aria-label={labels.stars(value)} aria-pressed={rating === value} onClick={() => rate(value)}
          onMouseEnter={() => setHover(value)} onMouseLeave={() => setHover(0)}>
          ★
        </button>
      ))}
      {rating !== null && !commented && (
        <form className="comment" onSubmit={sendComment}>
          <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000}
            aria-label={labels.commentLabel} placeholder={labels.commentLabel} />
          <button type="submit" className="small-button" disabled={!comment.trim()}>{labels.send}</button>
        </form>
      )}
      {commented && <span>{labels.commentThanks}</span>}
    </div>
  );
}

/**
 * The question before a conversation is deleted, in the panel (not window.confirm): an alert dialog that takes focus
 * on its safe choice, Cancel; Escape (the panel's) cancels it too.
 */
function DeleteConfirm({ chat, onCancel, onDone }: {
  chat: UseAIChatResult; onCancel: () => void; onDone: (deleted: boolean) => void;
}): ReactNode {
  const labels = useLabels();
  const [deleting, setDeleting] = useState(false);
  const questionId = useId();
  const detailId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    cancelRef.current?.focus();
  }, []);

  const confirm = (): void => {
    setDeleting(true);
    // A refusal (a reply still being written) or a failure is an error in the state, shown below with a retry.
    chat.deleteSession().then(() => onDone(true), () => onDone(false));
  };

  return (
    <div className="confirm" role="alertdialog" aria-labelledby={questionId} aria-describedby={detailId}>
      <p className="confirm-question" id={questionId}>{labels.deleteQuestion}</p>
      <p className="confirm-detail" id={detailId}>{labels.deleteDetail}</p>
      <div className="form-actions">
        <button type="button" className="small-button danger" onClick={confirm} disabled={deleting || chat.isSending}>
          {deleting ? labels.deleting : labels.deleteConfirm}
        </button>
        <button ref={cancelRef} type="button" className="small-button" onClick={onCancel} disabled={deleting}>
          {labels.cancel}
        </button>
      </div>
    </div>
  );
}

function EscalateForm({ chat, onDone }: { chat: UseAIChatResult; onDone: () => void }): ReactNode {
  const labels = useLabels();
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
    // The API needs a reason; the person need not give one.
    chat.escalateSession(reason.trim() || labels.defaultEscalationReason).then(onDone, () => setSending(false));
  };

  return (
    <form className="escalate-form" onSubmit={submit} aria-label={labels.talkToPerson}>
      <label htmlFor={id}>{labels.escalateQuestion}</label>
      <textarea ref={fieldRef} id={id} rows={2} value={reason} maxLength={500}
        onChange={(e) => setReason(e.target.value)} />
      <div className="form-actions">
        <button type="submit" className="primary-button" disabled={sending}>{labels.askForPerson}</button>
        <button type="button" className="small-button" onClick={onDone}>{labels.cancel}</button>
      </div>
    </form>
  );
}
