/**
 * The widget's whole stylesheet. It lives inside the widget's shadow root, so its selectors match only the
 * widget's own elements and the host page's styles do not reach in; `all: initial` on the root stops inherited
 * fonts and colours from leaking in through the shadow host.
 *
 * What a host may set is its own custom properties, which inherit through the shadow root (`all` does not reset
 * custom properties): --ai-chat-accent and --ai-chat-accent-text (the brand colour as a fill, and the text on it),
 * --ai-chat-link (links and accented text on the panel's light background; the accent by default), --ai-chat-radius
 * (the panel's and the bubbles' corners) and --ai-chat-font (the font family). The widget never sets them; each is
 * read with its default where the palette or a rule uses it, so a host's value always wins. The dark palette keeps
 * its own link colour: a brand colour picked for a light page is rarely readable as text on a dark one.
 */
export const WIDGET_CSS = `
:host { all: initial; }
.root {
  all: initial;
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  display: flex; flex-direction: column; align-items: flex-end; gap: 12px;
  font: 14px/1.45 var(--ai-chat-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  color: var(--fg); -webkit-font-smoothing: antialiased;
  --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --border: #d0d7de; --surface: #f3f5f7;
  --accent: var(--ai-chat-accent, #0b5cad); --accent-fg: var(--ai-chat-accent-text, #ffffff);
  --user-bg: var(--ai-chat-accent, #0b5cad); --user-fg: var(--ai-chat-accent-text, #ffffff);
  --radius: var(--ai-chat-radius, 14px); --link: var(--ai-chat-link, var(--ai-chat-accent, #0b5cad));
  --error-bg: #fdecea; --error-fg: #8a1c12; --error-border: #f1b0a8; --notice-bg: #e8f3ff; --notice-fg: #0a3d73;
  --focus: #1f6feb; --code-bg: #eef1f4; --shadow: 0 8px 28px rgba(20, 30, 45, .22); --star: #9a6700;
}
/* The launcher's corner: bottom-right by default, bottom-left with position="bottom-left". The corner is the page's,
   whatever the labels' direction: flex-end is the inline end, which is the left in a right-to-left root. */
.root[data-position="bottom-left"] { right: auto; left: 16px; align-items: flex-start; }
.root[dir="rtl"] { align-items: flex-start; }
.root[dir="rtl"][data-position="bottom-left"] { align-items: flex-end; }
.root *, .root *::before, .root *::after { box-sizing: border-box; }
.root[data-theme="dark"] {
  --bg: #1c2128; --fg: #e6edf3; --muted: #9da7b3; --border: #3d444d; --surface: #262c36;
  --accent: var(--ai-chat-accent, #4493f8); --accent-fg: var(--ai-chat-accent-text, #0d1117);
  --user-bg: var(--ai-chat-accent, #1f6feb); --user-fg: var(--ai-chat-accent-text, #ffffff); --link: #4493f8;
  --error-bg: #3c1618; --error-fg: #ffb4ab; --error-border: #8e2c2c; --notice-bg: #15304f; --notice-fg: #b6d7ff;
  --focus: #58a6ff; --code-bg: #2d333b; --shadow: 0 8px 28px rgba(0, 0, 0, .55); --star: #e3a008;
}
@media (prefers-color-scheme: dark) {
  .root[data-theme="auto"] {
    --bg: #1c2128; --fg: #e6edf3; --muted: #9da7b3; --border: #3d444d; --surface: #262c36;
    --accent: var(--ai-chat-accent, #4493f8); --accent-fg: var(--ai-chat-accent-text, #0d1117);
    --user-bg: var(--ai-chat-accent, #1f6feb); --user-fg: var(--ai-chat-accent-text, #ffffff); --link: #4493f8;
    --error-bg: #3c1618; --error-fg: #ffb4ab; --error-border: #8e2c2c; --notice-bg: #15304f; --notice-fg: #b6d7ff;
    --focus: #58a6ff; --code-bg: #2d333b; --shadow: 0 8px 28px rgba(0, 0, 0, .55); --star: #e3a008;
  }
}
/* A reset of no weight (:where), so each kind of button's own colour (.primary-button's, .launcher's) wins over it. */
:where(.root) :is(button, textarea) { font: inherit; color: inherit; margin: 0; }
:where(.root) button { cursor: pointer; }
.root button:disabled { cursor: default; opacity: .55; }
.root :focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}

.launcher {
  width: 56px; height: 56px; border-radius: 50%; border: none; background: var(--accent); color: var(--accent-fg);
  box-shadow: var(--shadow); display: grid; place-items: center; padding: 0;
}
.launcher svg { width: 26px; height: 26px; fill: currentColor; }

.panel {
  width: min(380px, calc(100vw - 32px)); height: min(600px, calc(100vh - 104px)); height: min(600px, calc(100dvh - 104px));
  display: flex; flex-direction: column; background: var(--bg); color: var(--fg);
  border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); overflow: hidden;
}
.header {
  display: flex; align-items: center; gap: 8px; padding-block: 10px; padding-inline: 16px 10px;
  border-bottom: 1px solid var(--border); background: var(--surface);
}
.title { flex: 1; margin: 0; font-size: 15px; font-weight: 600; line-height: 1.3; }
.subtitle { display: block; font-size: 12px; font-weight: 400; color: var(--muted); }
.icon-button {
  border: none; background: transparent; border-radius: 8px; width: 32px; height: 32px; padding: 0;
  display: grid; place-items: center; color: var(--muted);
}
.icon-button:hover:not(:disabled) { background: var(--border); color: var(--fg); }
.icon-button svg { width: 18px; height: 18px; fill: currentColor; }

.log { flex: 1; overflow-y: auto; padding: 14px 14px 6px; display: flex; flex-direction: column; gap: 10px; }
.empty { margin: auto 0; text-align: center; color: var(--muted); padding: 0 12px; }
.older { align-self: center; border: 1px solid var(--border); background: var(--bg); border-radius: 999px; padding: 3px 12px; font-size: 12px; }

.msg { display: flex; flex-direction: column; max-width: 88%; }
.msg-user { align-self: flex-end; align-items: flex-end; }
.msg-assistant { align-self: flex-start; align-items: flex-start; }
.bubble { padding: 8px 12px; border-radius: var(--radius); overflow-wrap: anywhere; max-width: 100%; }
.msg-user .bubble { background: var(--user-bg); color: var(--user-fg); border-end-end-radius: min(4px, var(--radius)); white-space: pre-wrap; }
.msg-assistant .bubble { background: var(--surface); border-end-start-radius: min(4px, var(--radius)); }
.msg-failed .bubble { border: 2px dashed var(--error-border); }
.msg-agent .bubble { border-inline-start: 3px solid var(--accent); }
.agent-name { margin: 0 0 3px; font-weight: 600; }
.handoff-marker { align-self: stretch; margin: 2px 0; text-align: center; font-size: 12px; color: var(--muted); }
.bubble p, .bubble ul, .bubble ol, .bubble pre, .bubble blockquote, .bubble h3, .bubble h4, .bubble h5, .bubble h6 { margin: 0 0 6px; }
.bubble > :first-child { margin-top: 0; }
.bubble > :last-child { margin-bottom: 0; }
.bubble h3, .bubble h4, .bubble h5, .bubble h6 { font-size: 1em; font-weight: 600; }
.bubble ul, .bubble ol { padding-inline-start: 20px; }
.bubble li > ul, .bubble li > ol, .bubble li > p, .bubble li > pre, .bubble li > blockquote, .bubble li > .md-table { margin: 2px 0 4px; }
.bubble .md-table { margin: 0 0 6px; max-width: 100%; overflow-x: auto; }
.bubble table { border-collapse: collapse; font-size: 13px; overflow-wrap: normal; }
.bubble th, .bubble td { border: 1px solid var(--border); padding: 3px 8px; text-align: start; vertical-align: top; }
.bubble th { background: var(--bg); font-weight: 600; }
.bubble code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code-bg); border-radius: 4px; padding: 1px 4px; }
.bubble pre { background: var(--code-bg); border-radius: 8px; padding: 8px 10px; overflow-x: auto; }
.bubble pre code { background: none; padding: 0; white-space: pre; }
.bubble blockquote { border-inline-start: 3px solid var(--border); padding-inline-start: 8px; color: var(--muted); }
.bubble a { color: var(--link); text-decoration: underline; }
.bubble hr { border: none; border-top: 1px solid var(--border); }
.calls { list-style: none; margin: 0 0 4px; padding: 0; display: flex; flex-direction: column; gap: 4px; max-width: 100%; }
.call {
  display: flex; align-items: flex-start; gap: 6px; padding: 4px 10px; font-size: 12.5px; line-height: 1.35;
  border: 1px solid var(--border); border-radius: 10px; background: var(--bg); color: var(--fg); overflow-wrap: anywhere;
}
.call svg { flex: none; width: 14px; height: 14px; margin-top: 1px; fill: currentColor; color: var(--link); }
.call-error { background: var(--error-bg); color: var(--error-fg); border-color: var(--error-border); }
.call-error svg { color: inherit; }
.meta { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 3px; font-size: 12px; color: var(--muted); }
.failed-note { color: var(--error-fg); }
.stopped-note { font-style: italic; }
.call-running svg { color: var(--muted); }
.link-button { border: none; background: none; padding: 0; color: var(--link); text-decoration: underline; font-size: 12px; }
.rate { border: 1px solid transparent; background: none; border-radius: 6px; padding: 2px 4px; color: var(--muted); display: grid; place-items: center; }
.rate svg { width: 14px; height: 14px; fill: currentColor; }
.rate:hover:not(:disabled) { color: var(--fg); }
.rate[aria-pressed="true"] { color: var(--link); border-color: var(--border); }

.typing .bubble { display: flex; gap: 4px; align-items: center; height: 34px; }
.dot { width: 7px; height: 7px; border-radius: 50%; background: var(--muted); animation: ai-chat-bounce 1.2s infinite ease-in-out; }
.dot:nth-child(2) { animation-delay: .15s; }
.dot:nth-child(3) { animation-delay: .3s; }
@keyframes ai-chat-bounce { 0%, 80%, 100% { transform: translateY(0); opacity: .45; } 40% { transform: translateY(-4px); opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .dot { animation: none; } }

.error, .notice { margin: 0 14px 8px; padding: 8px 10px; border-radius: 8px; font-size: 13px; }
.error { background: var(--error-bg); color: var(--error-fg); border: 1px solid var(--error-border); }
.notice { background: var(--notice-bg); color: var(--notice-fg); }
.handoff-offline { margin-top: 4px; font-size: 12px; opacity: .85; }
.error-actions, .form-actions { display: flex; gap: 8px; margin-top: 6px; flex-wrap: wrap; }
.small-button { border: 1px solid currentColor; background: transparent; border-radius: 6px; padding: 2px 10px; font-size: 13px; }
.primary-button { border: none; background: var(--accent); color: var(--accent-fg); border-radius: 8px; padding: 6px 12px; font-weight: 600; }

.feedback { display: flex; align-items: center; gap: 2px; padding: 4px 14px 6px; font-size: 12px; color: var(--muted); flex-wrap: wrap; }
.feedback-label { margin-inline-end: 4px; }
.star { border: none; background: none; padding: 0 1px; font-size: 18px; line-height: 1; color: var(--muted); }
.star.on, .star:hover:not(:disabled) { color: var(--star); }
.comment { display: flex; gap: 6px; width: 100%; margin-top: 4px; }
.comment input { flex: 1; font: inherit; font-size: 13px; color: var(--fg); background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: 3px 6px; }

.escalate-form { margin: 0 14px 8px; padding: 10px; border: 1px solid var(--border); border-radius: 8px; background: var(--surface); }
.escalate-form label { display: block; font-size: 13px; margin-bottom: 4px; }
.confirm { margin: 8px 14px 0; padding: 10px; border: 1px solid var(--error-border); border-radius: 8px; background: var(--surface); font-size: 13px; }
.confirm p { margin: 0 0 4px; }
.confirm-question { font-weight: 600; }
.small-button.danger { background: var(--error-bg); color: var(--error-fg); border-color: var(--error-border); font-weight: 600; }
.notice.deleted { margin-top: 8px; }

.composer { display: flex; gap: 8px; align-items: flex-end; padding: 8px 12px 6px; border-top: 1px solid var(--border); }
.root textarea {
  flex: 1; width: 100%; resize: none; min-height: 38px; max-height: 120px; padding: 8px 10px; border-radius: 10px;
  border: 1px solid var(--border); background: var(--bg); color: var(--fg); line-height: 1.35;
}
.root textarea::placeholder { color: var(--muted); }
.send, .stop { height: 38px; }
.toolbar { display: flex; justify-content: space-between; align-items: center; gap: 8px; padding: 0 12px 8px; }
.toolbar .link-button, .hint { white-space: nowrap; }
.hint { margin-top: 0; }
/* A touch screen's keyboard has no Shift+Enter to speak of. */
@media (pointer: coarse) { .hint { display: none; } }

/* A phone: the open panel is the whole screen (dvh: the height left by the browser's own bars), clear of the notch
   and the home indicator (safe areas: the host page's viewport meta needs viewport-fit=cover for them to be set);
   its header's Minimise button closes it, so the launcher is not drawn over it. */
@media (max-width: 480px) {
  .root[data-open] .launcher { display: none; }
  .panel {
    position: fixed; inset: 0; width: 100%; height: 100vh; height: 100dvh; border: none; border-radius: 0;
    box-shadow: none; padding: env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom)
    env(safe-area-inset-left);
  }
  /* 16 px: a phone browser zooms the page into a smaller field it focuses. */
  .root textarea, .comment input { font-size: 16px; }
}
`;
