// What a widget in German must not show, and the widget's own text to look in: the English labels' sentences and the
// server's English for what the German labels have words for, found as whole words in the text a person and a screen
// reader meet (its root's text and its elements' names and hints, less what people and the model wrote).
import { de, en } from "../dist/ai-chat-widget.js";

/**
 * The English labels' sentences a German widget must not show: each string, and each function's sentence around
 * placeholders (split at them), long enough to mean something, and not the same in German (a name, "E-Mail").
 */
function englishSentences() {
  const out = new Set();
  const add = (value) => {
    if (typeof value === "string") out.add(value);
    else if (typeof value === "function") for (const part of String(value("\u0000", "\u0000", "\u0000")).split("\u0000")) add(part);
    else if (value && typeof value === "object") Object.values(value).forEach(add);
  };
  for (const [key, value] of Object.entries(en)) if (key !== "lang" && key !== "dir") add(value);
  const german = new Set(Object.values(de).filter((v) => typeof v === "string"));
  return [...out].map((s) => s.trim()).filter((s) => s.length >= 4 && !german.has(s));
}
export const ENGLISH = englishSentences();
// The server's English for what the German labels have words for: the hand-over, and a person's lines.
export const SERVER_ENGLISH = ["joined the conversation", "handed the conversation back", "I've passed this conversation",
  "This session reached"];

/**
 * The widget's own text as a person and a screen reader meet it: its root's text and its elements' names and hints,
 * less what people and the model wrote (the bubbles, and the live region that reads them out: the offline model
 * answers in English whatever the widget's language); with the root's lang and dir.
 */
export function widgetText(page) {
  return page.evaluate(() => {
    const root = document.querySelector("[data-ai-chat-widget]").shadowRoot.querySelector(".root").cloneNode(true);
    for (const written of root.querySelectorAll(".bubble, [data-announcer]")) written.remove();
    const parts = [root.textContent];
    for (const element of root.querySelectorAll("[aria-label], [placeholder], [title]")) {
      for (const name of ["aria-label", "placeholder", "title"]) parts.push(element.getAttribute(name) ?? "");
    }
    return { text: parts.join("\n"), lang: root.getAttribute("lang"), dir: root.getAttribute("dir") };
  });
}

/** Words whole: "Send" is not in "Senden". */
export function shows(text, sentence) {
  const escaped = sentence.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}])${escaped}($|[^\\p{L}])`, "u").test(text);
}
