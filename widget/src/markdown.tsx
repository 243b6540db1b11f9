import { Fragment, type ReactNode } from "react";

/**
 * A small Markdown renderer for assistant replies that builds React elements, never HTML strings: every piece of
 * text reaches the page through React's escaping, so a reply containing <script> or an onerror attribute shows as
 * text. Links keep only http(s) and mailto targets. Covered: paragraphs (a single newline is a line break, as in
 * chat), headings, emphasis, strong, strikethrough, inline and fenced code, lists, block quotes, rules, links and
 * bare URLs. Anything else shows as the text it is.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const BLANK = /^\s*$/;
// A bare URL ends before trailing punctuation that usually closes the sentence around it.
const BARE_URL = /^https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]]/;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** The URL as an href if it is absolute http(s) or mailto; null for javascript:, data:, relative and malformed. */
export function safeHref(raw: string): string | null {
  try {
    // URL parsing strips the tabs, newlines and odd casing that sneak "java\tscript:" past a naive prefix check.
    const url = new URL(raw.trim());
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || BULLET.test(line) ||
    NUMBERED.test(line);
}

interface ListItem {
  lines: string[];
}

function blocks(source: string, key: string): ReactNode[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const out: ReactNode[] = [];
  let i = 0;
  const next = (): string => `${key}.${out.length}`;

  while (i < lines.length) {
    const line = lines[i] ?? "";
    if (BLANK.test(line)) {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] ?? "```";
      const language = fence[2] ?? "";
      const code: string[] = [];
      i += 1;
      while (i < lines.length && !(lines[i] ?? "").trimStart().startsWith(marker)) {
        code.push(lines[i] ?? "");
        i += 1;
      }
      i += 1; // the closing fence (or the end of an unclosed block)
      out.push(
        <pre key={next()}>
          <code data-language={language || undefined}>{code.join("\n")}</code>
        </pre>,
      );
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      // Inside a chat bubble, # is a section title, not the page's: levels start at h3.
      const level = Math.min(6, (heading[1] ?? "#").length + 2);
      const Tag = `h${level}` as "h3" | "h4" | "h5" | "h6";
      out.push(<Tag key={next()}>{inline(heading[2] ?? "", next())}</Tag>);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(<hr key={next()} />);
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i] ?? "")) {
        quoted.push(QUOTE.exec(lines[i] ?? "")?.[1] ?? "");
        i += 1;
      }
      const k = next();
      out.push(<blockquote key={k}>{blocks(quoted.join("\n"), k)}</blockquote>);
      continue;
    }
    const ordered = NUMBERED.test(line);
    if (ordered || BULLET.test(line)) {
      const pattern = ordered ? NUMBERED : BULLET;
      const start = ordered ? Number(NUMBERED.exec(line)?.[1] ?? "1") : 1;
      const items: ListItem[] = [];
      while (i < lines.length) {
        const current = lines[i] ?? "";
        const match = pattern.exec(current);
        if (match) {
          items.push({ lines: [(ordered ? match[2] : match[1]) ?? ""] });
        } else if (!BLANK.test(current) && /^\s+/.test(current) && items.length > 0) {
          items[items.length - 1]?.lines.push(current.trim()); // an indented continuation of the item
        } else if (BLANK.test(current) && pattern.test(lines[i + 1] ?? "")) {
          // A blank line between items keeps the list going.
        } else {
          break;
        }
        i += 1;
      }
      const k = next();
      const children = items.map((item, n) => <li key={`${k}.${n}`}>{lineBreaks(item.lines, `${k}.${n}`)}</li>);
      out.push(ordered ? <ol key={k} start={start === 1 ? undefined : start}>{children}</ol> : <ul key={k}>{children}</ul>);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && !BLANK.test(lines[i] ?? "") && (paragraph.length === 0 || !startsBlock(lines[i] ?? ""))) {
      paragraph.push(lines[i] ?? "");
      i += 1;
    }
    const k = next();
    out.push(<p key={k}>{lineBreaks(paragraph, k)}</p>);
  }
  return out;
}

function lineBreaks(lines: string[], key: string): ReactNode[] {
  return lines.flatMap((line, n) => {
    const parts = inline(line.trim(), `${key}.${n}`);
    return n === 0 ? parts : [<br key={`${key}.${n}.br`} />, ...parts];
  });
}

/** Where the emphasis that opens at `from` with `marker` closes, or -1. */
function closing(text: string, marker: string, from: number): number {
  let at = text.indexOf(marker, from);
  while (at !== -1) {
    const before = text[at - 1] ?? "";
    const after = text[at + marker.length] ?? "";
    // Closers follow text, not space; an underscore closer must end a word (snake_case_names stay as they are).
    if (at > from && !/\s/.test(before) && (marker[0] !== "_" || !/\w/.test(after))) return at;
    at = text.indexOf(marker, at + 1);
  }
  return -1;
}

const EMPHASIS: ReadonlyArray<[string, "strong" | "em" | "del"]> = [
  ["**", "strong"],
  ["__", "strong"],
  ["~~", "del"],
  ["*", "em"],
  ["_", "em"],
];

function inline(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  let plain = "";
  let i = 0;
  const flush = (): void => {
    if (plain) out.push(plain);
    plain = "";
  };
  const k = (): string => `${key}.${out.length}`;

  while (i < text.length) {
    const ch = text[i] ?? "";
    const rest = text.slice(i);

    if (ch === "\\" && /[\\`*_{}[\]()#+\-.!~>|<]/.test(text[i + 1] ?? "")) {
      plain += text[i + 1];
      i += 2;
      continue;
    }

    if (ch === "`") {
      const run = /^`+/.exec(rest)?.[0] ?? "`";
      const end = text.indexOf(run, i + run.length);
      if (end !== -1) {
        flush();
        out.push(<code key={k()}>{text.slice(i + run.length, end).trim()}</code>);
        i = end + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }

    if (ch === "[") {
      // A target may hold one level of parentheses, as Wikipedia URLs do.
      const link = /^\[([^\]]+)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))+)>?(?:\s+"[^"]*")?\s*\)/.exec(rest);
      if (link) {
        const href = safeHref(link[2] ?? "");
        flush();
        const label = inline(link[1] ?? "", k());
        out.push(
          href ? (
            <a key={k()} href={href} target="_blank" rel="noopener noreferrer nofollow">
              {label}
            </a>
          ) : (
            // A javascript:, data: or relative target: the words stay, the link goes.
            <Fragment key={k()}>{label}</Fragment>
          ),
        );
        i += link[0].length;
        continue;
      }
    }

    if (ch === "<") {
      const auto = /^<(https?:\/\/[^\s<>]+|mailto:[^\s<>]+)>/.exec(rest);
      const href = auto ? safeHref(auto[1] ?? "") : null;
      if (auto && href) {
        flush();
        out.push(<a key={k()} href={href} target="_blank" rel="noopener noreferrer nofollow">{auto[1]}</a>);
        i += auto[0].length;
        continue;
      }
    }

    if (ch === "h" && !/\w/.test(text[i - 1] ?? "")) {
      const bare = BARE_URL.exec(rest);
      const href = bare ? safeHref(bare[0]) : null;
      if (bare && href) {
        flush();
        out.push(<a key={k()} href={href} target="_blank" rel="noopener noreferrer nofollow">{bare[0]}</a>);
        i += bare[0].length;
        continue;
      }
    }

    const emphasis = EMPHASIS.find(([marker]) => rest.startsWith(marker));
    if (emphasis) {
      const [marker, tag] = emphasis;
      const opensWord = !/\s/.test(text[i + marker.length] ?? " ");
      const underscoreInWord = marker[0] === "_" && /\w/.test(text[i - 1] ?? "");
      const end = opensWord && !underscoreInWord ? closing(text, marker, i + marker.length) : -1;
      if (end !== -1) {
        flush();
        const Tag = tag;
        out.push(<Tag key={k()}>{inline(text.slice(i + marker.length, end), k())}</Tag>);
        i = end + marker.length;
        continue;
      }
      plain += marker;
      i += marker.length;
      continue;
    }

    plain += ch;
    i += 1;
  }
  flush();
  return out;
}

/** A reply's Markdown as React elements. */
export function Markdown({ source }: { source: string }): ReactNode {
  return <>{blocks(source, "md")}</>;
}
