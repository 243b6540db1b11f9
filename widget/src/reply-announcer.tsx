/**
 * The widget's one live region: what a screen reader hears of the conversation. A reply is announced when it starts
 * and, whole, when it ends (never word by word); a person's messages as they come.
 */
import { useEffect, useRef, useState, type ReactNode } from "react";
import { TAKEN_BY_PERSON, type ChatMessage } from "./chat-state";
import { describeFunctionCall } from "./function-calls";
import { en, type Labels } from "./labels";
import { useLabels } from "./labels-context";
import { markerText, replyText } from "./server-text";
import type { UseAIChatResult } from "./use-ai-chat";

/** What the live region says when a reply starts, in English; its end is said with the reply (see replyAnnouncement). */
export const REPLYING_ANNOUNCEMENT = en.announceReplying;
// A long reply is announced by its start: the log holds the whole of it.
const ANNOUNCED_LENGTH = 300;

/** A reply's words for the live region: its text (without Markdown's marks), or else what its tools did. */
function spoken(labels: Labels, message: ChatMessage): string {
  const words = replyText(labels, message).replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+/gm, "").replace(/\*+|`+|~~/g, "");
  const text = words.replace(/\s+/g, " ").trim() ||
    message.functionCalls.map((call) => describeFunctionCall(call, labels)).join(". ");
  return text.length > ANNOUNCED_LENGTH ? `${text.slice(0, ANNOUNCED_LENGTH - 1)}…` : text;
}

/** What the live region says of a person's message: their reply with their name, or their marker's sentence. */
export function personAnnouncement(message: ChatMessage, labels: Labels = en): string {
  if (message.handoff) return markerText(labels, { ...message, handoff: message.handoff });
  return labels.announcePersonReplied(message.agentName ?? labels.aPerson, spoken(labels, message));
}

/** What the live region says when a reply has ended: the reply (or its start), or that none came. */
export function replyAnnouncement(messages: readonly ChatMessage[], labels: Labels = en): string {
  const last = messages[messages.length - 1];
  if (!last || last.role !== "assistant") return labels.announceNoReply;
  if (last.stopped === "stopped") return labels.announceStopped(spoken(labels, last));
  if (last.stopped === TAKEN_BY_PERSON) return labels.announceTakenOver;
  return labels.announceReplied(spoken(labels, last));
}

/**
 * The one live region: it says when a reply starts and what it was when it ends, never each word of a streaming
 * reply (the log itself is not live, or a screen reader would read every delta), and what a person of the support
 * team wrote as it comes.
 */
export function ReplyAnnouncer({ chat }: { chat: UseAIChatResult }): ReactNode {
  const labels = useLabels();
  const [text, setText] = useState("");
  const wasSending = useRef(chat.isSending);
  const { isSending, chatHistory, sessionStatus, historyLoaded, status } = chat;
  // The newest message last time, once the log had loaded: what came after it is new.
  const lastSeen = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (isSending === wasSending.current) return;
    wasSending.current = isSending;
    // A message kept for a person has no reply from the assistant to wait for.
    if (sessionStatus === "escalated") {
      if (!isSending) setText(labels.announcePassedToSupport);
      return;
    }
    setText(isSending ? labels.announceReplying : replyAnnouncement(chatHistory, labels));
  }, [isSending, chatHistory, sessionStatus, labels]);
  useEffect(() => {
    const previous = lastSeen.current;
    const loaded = historyLoaded && status !== "loading";
    lastSeen.current = loaded ? chatHistory[chatHistory.length - 1]?.key ?? null : undefined;
    // A loaded history is read by whoever opens it, not announced.
    if (previous === undefined || !loaded) return;
    const at = previous === null ? -1 : chatHistory.findIndex((m) => m.key === previous);
    // That message went (a draft taken off): what is new cannot be told, and nothing is said twice.
    if (previous !== null && at === -1) return;
    const fresh = chatHistory.slice(at + 1).filter((m) => m.role === "agent");
    if (fresh.length > 0) setText(fresh.map((m) => personAnnouncement(m, labels)).join(" "));
  }, [chatHistory, historyLoaded, status, labels]);
  return (
    <div className="sr-only" aria-live="polite" aria-atomic="true" data-announcer="">
      {text}
    </div>
  );
}
