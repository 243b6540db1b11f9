/**
 * A session's `context` (what the customer's app sent: the page, the plan, the role) as the agent inbox shows it:
 * key and value as text, in the order the app sent them. React escapes the text, so a value is never markup.
 */
import type { ReactNode } from "react";
import type { ChatContext } from "./api-types";

// The list entry is one line per thing; a long value (a URL, a nested object) is cut there and shown whole when open.
const SUMMARY_VALUE_CHARS = 48;
const SUMMARY_ENTRIES = 4;

/** The context's pairs as text: a string value as it is, anything else as its JSON; none for null or `{}`. */
export function contextEntries(context: ChatContext | null | undefined): Array<[string, string]> {
  if (!context) return [];
  return Object.entries(context).map(([key, value]) =>
    [key, typeof value === "string" ? value : JSON.stringify(value) ?? ""]);
}

function cut(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

/** The context on one line of a waiting entry (phrasing content only: the entry is a button), or nothing. */
export function ContextSummary({ context, more }: {
  context: ChatContext | null | undefined;
  /** What stands for the entries left out ("+2 more"). */
  more: (count: number) => string;
}): ReactNode {
  const entries = contextEntries(context);
  if (entries.length === 0) return null;
  const shown = entries.slice(0, SUMMARY_ENTRIES);
  return (
    <span className="inbox-context">
      {shown.map(([key, value]) => (
        <span key={key} className="inbox-context-pair">
          <span className="inbox-context-key">{key}</span> {cut(value, SUMMARY_VALUE_CHARS)}
        </span>
      ))}
      {entries.length > shown.length && (
        <span className="inbox-context-pair">{more(entries.length - shown.length)}</span>
      )}
    </span>
  );
}

/** The whole context of the open conversation as a description list, or nothing. */
export function ContextDetails({ context }: { context: ChatContext | null | undefined }): ReactNode {
  const entries = contextEntries(context);
  if (entries.length === 0) return null;
  return (
    <dl className="inbox-context-details">
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
