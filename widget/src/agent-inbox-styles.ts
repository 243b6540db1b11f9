/**
 * The agent inbox's stylesheet. The inbox sits inside an admin app's own page (not a floating panel), so every
 * selector is under `.aichat-inbox` and nothing reaches the app's other elements. Its layout follows its own width
 * (a container query), not the viewport's: an admin app may give it a narrow column on a wide screen. The app's
 * brand is the widget's custom properties, set on the inbox or any element around it: --ai-chat-accent (the open
 * entry's border, the Send button) and --ai-chat-accent-text, --ai-chat-link (links, light theme), --ai-chat-radius
 * (its corners), --ai-chat-font.
 */
export const AGENT_INBOX_CSS = `
.aichat-inbox {
  --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --border: #d0d7de; --surface: #f3f5f7;
  --accent: var(--ai-chat-accent, #0b5cad); --accent-fg: var(--ai-chat-accent-text, #ffffff); --agent-bg: #e9f7ef;
  --link: var(--ai-chat-link, var(--ai-chat-accent, #0b5cad));
  --error-bg: #fdecea; --error-fg: #8a1c12; --focus: #1f6feb;
  container: aichat-inbox / inline-size; display: flex; flex-direction: column; min-height: 420px;
  font: 14px/1.45 var(--ai-chat-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif); color: var(--fg);
  background: var(--bg); border: 1px solid var(--border); border-radius: var(--ai-chat-radius, 10px); overflow: hidden;
  text-align: start;
}
.aichat-inbox[data-theme="dark"] {
  --bg: #1c2128; --fg: #e6edf3; --muted: #9da7b3; --border: #3d444d; --surface: #262c36;
  --accent: var(--ai-chat-accent, #4493f8); --accent-fg: var(--ai-chat-accent-text, #0d1117); --agent-bg: #17352a;
  --error-bg: #3c1618; --error-fg: #ffb4ab; --focus: #58a6ff; --link: #4493f8;
}
@media (prefers-color-scheme: dark) {
  .aichat-inbox[data-theme="auto"] {
    --bg: #1c2128; --fg: #e6edf3; --muted: #9da7b3; --border: #3d444d; --surface: #262c36;
    --accent: var(--ai-chat-accent, #4493f8); --accent-fg: var(--ai-chat-accent-text, #0d1117); --agent-bg: #17352a;
    --error-bg: #3c1618; --error-fg: #ffb4ab; --focus: #58a6ff; --link: #4493f8;
  }
}
.aichat-inbox *, .aichat-inbox *::before, .aichat-inbox *::after { box-sizing: border-box; }
.aichat-inbox :focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
.aichat-inbox button, .aichat-inbox textarea { font: inherit; color: inherit; }
.aichat-inbox button { cursor: pointer; border: 1px solid var(--border); background: var(--surface); border-radius: 6px; padding: 6px 10px; }
.aichat-inbox button:disabled { cursor: default; opacity: .55; }
.aichat-inbox h2 { font-size: 15px; margin: 0 0 8px; }
.aichat-inbox ul, .aichat-inbox ol { list-style: none; margin: 0; padding: 0; }
/* The alert across the top (row 1, empty without one), the list and the conversation side by side under it. */
.aichat-inbox .inbox-layout { flex: 1; display: grid; grid-template-columns: minmax(220px, 1fr) 2fr; grid-template-rows: auto 1fr; }
.aichat-inbox .inbox-layout > .inbox-error { grid-row: 1; grid-column: 1 / -1; margin: 8px 12px 0; }
.aichat-inbox .inbox-list, .aichat-inbox .inbox-conversation { grid-row: 2; }
.aichat-inbox .inbox-list { padding: 12px; border-inline-end: 1px solid var(--border); background: var(--surface); overflow-y: auto; }
.aichat-inbox .inbox-entry { display: flex; flex-direction: column; gap: 2px; width: 100%; text-align: start; margin-bottom: 6px; background: var(--bg); }
.aichat-inbox .inbox-entry-open { border-color: var(--accent); }
.aichat-inbox .inbox-reason { font-weight: 600; }
.aichat-inbox .inbox-meta, .aichat-inbox .inbox-empty, .aichat-inbox .inbox-status { color: var(--muted); font-size: 12px; }
.aichat-inbox .inbox-context { display: flex; flex-wrap: wrap; gap: 2px 8px; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.aichat-inbox .inbox-context-key, .aichat-inbox .inbox-context-details dt { font-weight: 600; }
.aichat-inbox .inbox-context-details { flex-basis: 100%; display: flex; flex-wrap: wrap; gap: 2px 12px; margin: 2px 0 0; font-size: 12px; color: var(--muted); }
.aichat-inbox .inbox-context-details > div { display: flex; gap: 4px; min-width: 0; }
.aichat-inbox .inbox-context-details dd { margin: 0; overflow-wrap: anywhere; }
.aichat-inbox .inbox-last { font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.aichat-inbox .inbox-conversation { display: flex; flex-direction: column; gap: 8px; padding: 12px; min-width: 0; }
.aichat-inbox .inbox-header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 10px; }
.aichat-inbox .inbox-title { margin: 0; font-size: 15px; overflow-wrap: anywhere; }
.aichat-inbox .inbox-header .inbox-status { margin: 0; }
.aichat-inbox .inbox-back { display: none; }
.aichat-inbox .inbox-messages { flex: 1; overflow-y: auto; min-height: 0; }
.aichat-inbox .inbox-messages > ol { display: flex; flex-direction: column; gap: 8px; }
.aichat-inbox .inbox-msg { border: 1px solid var(--border); border-radius: 8px; padding: 6px 10px; max-width: 85%; }
.aichat-inbox .inbox-msg-user { align-self: flex-start; background: var(--surface); }
.aichat-inbox .inbox-msg-assistant { align-self: flex-start; }
.aichat-inbox .inbox-msg-agent { align-self: flex-end; background: var(--agent-bg); }
.aichat-inbox .inbox-author { display: block; font-size: 12px; font-weight: 600; color: var(--muted); }
.aichat-inbox .inbox-text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
/* The assistant's Markdown: blocks spaced between each other, none outside the first and the last. */
.aichat-inbox .inbox-md { overflow-wrap: anywhere; }
.aichat-inbox .inbox-md :is(p, ul, ol, pre, blockquote, h3, h4, h5, h6, hr, .md-table) { margin: 0 0 6px; }
.aichat-inbox .inbox-md > :first-child { margin-top: 0; }
.aichat-inbox .inbox-md > :last-child { margin-bottom: 0; }
.aichat-inbox .inbox-md :is(h3, h4, h5, h6) { font-size: 1em; }
.aichat-inbox .inbox-md ul { list-style: disc; padding-inline-start: 20px; }
.aichat-inbox .inbox-md ol { list-style: decimal; padding-inline-start: 20px; }
.aichat-inbox .inbox-md li > :is(ul, ol, p) { margin: 2px 0 4px; }
.aichat-inbox .inbox-md .md-table { max-width: 100%; overflow-x: auto; }
.aichat-inbox .inbox-md table { border-collapse: collapse; font-size: 13px; }
.aichat-inbox .inbox-md :is(th, td) { border: 1px solid var(--border); padding: 3px 8px; text-align: start; }
.aichat-inbox .inbox-md code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.aichat-inbox .inbox-md pre { overflow-x: auto; }
.aichat-inbox .inbox-md a { color: var(--link); }
.aichat-inbox .inbox-marker { align-self: center; color: var(--muted); font-size: 12px; }
.aichat-inbox .inbox-reply { display: flex; gap: 8px; }
.aichat-inbox .inbox-reply button[type="submit"] { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); font-weight: 600; }
.aichat-inbox .inbox-hint { margin: 0; color: var(--muted); font-size: 12px; }
/* A touch screen's keyboard has no Shift+Enter to speak of. */
@media (pointer: coarse) { .aichat-inbox .inbox-hint { display: none; } }
.aichat-inbox .inbox-reply textarea { flex: 1; min-width: 0; resize: vertical; border: 1px solid var(--border); border-radius: 6px; padding: 6px; background: var(--bg); }
.aichat-inbox .inbox-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.aichat-inbox .inbox-error { margin: 0; padding: 6px 10px; border-radius: 6px; background: var(--error-bg); color: var(--error-fg); }
.aichat-inbox .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

/* Narrow (a phone, or a narrow column of the app): one column at a time, the list or the open conversation. */
@container aichat-inbox (width < 640px) {
  .aichat-inbox .inbox-layout { grid-template-columns: minmax(0, 1fr); }
  .aichat-inbox .inbox-list { border-inline-end: none; }
  .aichat-inbox .inbox-layout[data-view="conversation"] .inbox-list,
  .aichat-inbox .inbox-layout[data-view="list"] .inbox-conversation { display: none; }
  .aichat-inbox .inbox-back { display: inline-block; }
  .aichat-inbox .inbox-msg { max-width: 92%; }
}
`;
