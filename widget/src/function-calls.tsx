import type { ReactNode } from "react";
import type { FunctionCall } from "./api-types";
import type { ChatFunctionCall } from "./chat-state";
import { en, type Labels } from "./labels";
import { useLabels } from "./labels-context";

/** A string field of a JSON object, when it is a non-empty string; anything else the model or a tool wrote is not. */
function field(object: unknown, name: string): string | null {
  if (typeof object !== "object" || object === null || Array.isArray(object)) return null;
  const value = (object as Record<string, unknown>)[name];
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** Why a call failed: its result's `error`, a sentence, or `{"message": …}` inside it. */
function failure(call: ChatFunctionCall): string | null {
  return field(call.result, "error") ?? field((call.result as Record<string, unknown>).error, "message");
}

/**
 * What a tool call did, in a sentence for the person: "Ticket created: <title> (<priority>)", "Handed over to a
 * person: <reason>", "<name> done", or "<name> failed: <why>"; while a streamed reply's tool runs, what it is doing
 * ("Creating a ticket: <title>…"), in `labels`' words (English by default). Plain text: a UI shows it as text,
 * never as HTML.
 */
export function describeFunctionCall(call: FunctionCall | ChatFunctionCall, labels: Labels = en): string {
  if (call.status === "running") {
    if (call.name === "create_ticket") return labels.callCreatingTicket(field(call.arguments, "title"));
    if (call.name === "escalate_to_human") return labels.callHandingOver;
    return labels.callRunning(call.name);
  }
  if (call.status !== "ok") return labels.callFailed(call.name, failure(call));
  if (call.name === "create_ticket") {
    // The stored ticket says what was created; the model's arguments only what it asked for.
    const title = field(call.result, "title") ?? field(call.arguments, "title");
    const priority = field(call.result, "priority") ?? field(call.arguments, "priority");
    return labels.callTicketCreated(title, priority);
  }
  if (call.name === "escalate_to_human") return labels.callHandedOver(field(call.arguments, "reason"));
  return labels.callDone(call.name);
}

/**
 * A reply's tool calls as a list above its text: what the assistant did, each with whether it worked. A call of a
 * streaming reply shows while it runs, and the same item then says what came of it.
 */
export function FunctionCallList({ calls }: { calls: readonly ChatFunctionCall[] }): ReactNode {
  const labels = useLabels();
  return (
    // role="list": Safari drops the list role of a list styled without markers, and with it the count of items.
    <ul className="calls" role="list" aria-label={labels.actionsTaken}>
      {calls.map((call, index) => (
        <li key={`${index}:${call.id}`} className={`call call-${call.status === "error" ? "error" : call.status}`}
          data-tool={call.name} data-status={call.status}>
          {/* The sentence says whether it worked ("… failed: …"); the icon only shows it. */}
          {call.status === "ok" ? <DoneIcon /> : call.status === "running" ? <RunningIcon /> : <FailedIcon />}
          <span className="call-text">{describeFunctionCall(call, labels)}</span>
        </li>
      ))}
    </ul>
  );
}

function DoneIcon(): ReactNode {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M9.5 16.2 5.3 12a1 1 0 0 0-1.4 1.4l4.9 4.9a1 1 0 0 0 1.4 0l10-10a1 1 0 1 0-1.4-1.4z" />
    </svg>
  );
}

function RunningIcon(): ReactNode {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16zm0 2a1 1 0 0 1 1 1v4.6l3.2 1.9a1 1 0 1 1-1 1.7l-3.7-2.2A1 1 0 0 1 11 12V7a1 1 0 0 1 1-1z" />
    </svg>
  );
}

function FailedIcon(): ReactNode {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm0 5a1 1 0 0 0-1 1v5a1 1 0 1 0 2 0V8a1 1 0 0 0-1-1zm0 8.5a1.25 1.25 0 1 0 0 2.5 1.25 1.25 0 0 0 0-2.5z" />
    </svg>
  );
}
