import { Fragment, memo, type ReactNode } from "react";

/**
 * A small Markdown renderer for assistant replies that builds React elements, never HTML strings: every piece of
 * text reaches the page through React's escaping, so a reply containing <script> or an onerror attribute shows as
 * text. Links keep only http(s) and mailto targets. Covered: paragraphs (a single newline is a line break, as in
 * chat), headings, emphasis, strong, strikethrough, inline and fenced code, lists (nested by indenting an item's
 * lines two or more spaces past its marker), block quotes, rules, GFM tables (a header row, a row of `---`,
 * `:---`, `---:` or `:---:` cells, then rows until a blank line or a line without a `|`), links and bare URLs.
 * Anything else shows as the text it is; lists and quotes nested deeper than MAX_DEPTH show as plain text.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const BLANK = /^\s*$/;
const ALIGNMENT_CELL = /^:?-+:?$/;
// A bare URL ends before trailing punctuation that usually closes the sentence around it.
const BARE_URL = /^https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]]/;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
/** Lists and quotes inside each other this deep (a reply could nest thousands) render their content as text. */
export const MAX_DEPTH = 8;
/** An item's line is inside it when indented this many columns past the item's marker, and a sibling when less. */
const NESTED_INDENT = 2;

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

/** Whether a block other than a paragraph starts at line `i`: a table needs the line after it too. */
function startsBlockAt(lines: readonly string[], i: number): boolean {
  return startsBlock(lines[i] ?? "") || tableAt(lines, i) !== null;
}

/** The line's indentation in columns, a tab reaching the next multiple of 4. */
function indentOf(line: string): number {
  let column = 0;
  for (const ch of line) {
    if (ch === " ") column += 1;
    else if (ch === "\t") column += 4 - (column % 4);
    else break;
  }
  return column;
}

/** The line without its first `columns` columns of indentation. */
function dedent(line: string, columns: number): string {
  let column = 0;
  let at = 0;
  while (at < line.length && column < columns && (line[at] === " " || line[at] === "\t")) {
    column += line[at] === "\t" ? 4 - (column % 4) : 1;
    at += 1;
  }
  // A tab that reaches past the cut leaves its remaining columns as spaces.
  return " ".repeat(Math.max(0, column - columns)) + line.slice(at);
}

type Alignment = "left" | "center" | "right" | undefined;

/** A table row's cells: split on pipes a backslash does not escape, the outer pipes optional. */
function cells(line: string): string[] {
  let text = line.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  const out: string[] = [];
  let cell = "";
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] ?? "";
    if (ch === "\\" && text[i + 1] === "|") {
      cell += "|"; // as in GFM, an escaped pipe is a pipe in the cell, in code spans too
      i += 1;
    } else if (ch === "|") {
      out.push(cell.trim());
      cell = "";
    } else {
      cell += ch;
    }
  }
  out.push(cell.trim());
  return out;
}

/** The header cells and column alignments of a table whose header row is line `i`, or null. */
function tableAt(lines: readonly string[], i: number): { header: string[]; align: Alignment[] } | null {
  const headerLine = lines[i] ?? "";
  const delimiterLine = lines[i + 1] ?? "";
  if (!headerLine.includes("|") || !delimiterLine.includes("|") || indentOf(headerLine) > 3) return null;
  const delimiters = cells(delimiterLine);
  if (!delimiters.every((cell) => ALIGNMENT_CELL.test(cell))) return null;
  const header = cells(headerLine);
  if (header.length !== delimiters.length) return null;
  const align = delimiters.map((cell): Alignment => {
    const left = cell.startsWith(":");
    const right = cell.endsWith(":");
    return left && right ? "center" : right ? "right" : left ? "left" : undefined;
  });
  return { header, align };
}

/** A block found in the source's lines: the line after it, and how to render it once its key is known. */
interface Block {
  end: number;
  render: (key: string, depth: number) => ReactNode;
}

/** The block that starts at line `i` (not a blank line): every block's extent is decided here, and only here. */
function blockAt(lines: readonly string[], start: number): Block {
  let i = start;
  const line = lines[i] ?? "";
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
    return {
      end: Math.min(i, lines.length),
      render: (key) => (
        <pre key={key}>
          <code data-language={language || undefined}>{code.join("\n")}</code>
        </pre>
      ),
    };
  }
  const heading = HEADING.exec(line);
  if (heading) {
    // Inside a chat bubble, # is a section title, not the page's: levels start at h3.
    const level = Math.min(6, (heading[1] ?? "#").length + 2);
    const Tag = `h${level}` as "h3" | "h4" | "h5" | "h6";
    return { end: i + 1, render: (key) => <Tag key={key}>{inline(heading[2] ?? "", key)}</Tag> };
  }
  if (RULE.test(line)) return { end: i + 1, render: (key) => <hr key={key} /> };
  if (QUOTE.test(line)) {
    const quoted: string[] = [];
    while (i < lines.length && QUOTE.test(lines[i] ?? "")) {
      quoted.push(QUOTE.exec(lines[i] ?? "")?.[1] ?? "");
      i += 1;
    }
    return {
      end: i,
      render: (key, depth) => <blockquote key={key}>{blocks(quoted.join("\n"), key, depth + 1)}</blockquote>,
    };
  }
  const ordered = NUMBERED.test(line);
  if (ordered || BULLET.test(line)) {
    const pattern = ordered ? NUMBERED : BULLET;
    const first = ordered ? Number(NUMBERED.exec(line)?.[1] ?? "1") : 1;
    const base = indentOf(line);
    const sibling = (l: string): RegExpExecArray | null =>
      indentOf(l) < base + NESTED_INDENT ? pattern.exec(l) : null;
    // Each item: the text after its marker, then its own lines (continuations, nested lists) as written.
    const items: string[][] = [];
    while (i < lines.length) {
      const current = lines[i] ?? "";
      const match = sibling(current);
      const item = items[items.length - 1];
      if (match) {
        items.push([(ordered ? match[2] : match[1]) ?? ""]);
      } else if (item && !BLANK.test(current) && indentOf(current) > base) {
        item.push(current); // an indented line belongs to the item above it
      } else if (item && BLANK.test(current)) {
        // A blank line keeps the list going when an item or the item's own indented lines follow it.
        let after = i + 1;
        while (after < lines.length && BLANK.test(lines[after] ?? "")) after += 1;
        const following = lines[after] ?? "";
        if (after >= lines.length || !(sibling(following) || indentOf(following) > base)) break;
        if (!sibling(following)) item.push("");
        i = after;
        continue;
      } else {
        break;
      }
      i += 1;
    }
    return {
      end: i,
      render: (key, depth) => {
        const children = items.map((item, n) => <li key={`${key}.${n}`}>{listItem(item, `${key}.${n}`, depth)}</li>);
        return ordered ? <ol key={key} start={first === 1 ? undefined : first}>{children}</ol> : <ul key={key}>{children}</ul>;
      },
    };
  }
  const table = tableAt(lines, i);
  if (table) {
    const columns = table.header.length;
    const rows: string[][] = [];
    i += 2;
    while (i < lines.length && !BLANK.test(lines[i] ?? "") && (lines[i] ?? "").includes("|") &&
      !startsBlock(lines[i] ?? "")) {
      // As in GFM: cells past the header's count are dropped, missing ones are empty.
      const row = cells(lines[i] ?? "").slice(0, columns);
      rows.push([...row, ...Array<string>(columns - row.length).fill("")]);
      i += 1;
    }
    const style = (n: number) => (table.align[n] ? { textAlign: table.align[n] } : undefined);
    return {
      end: i,
      render: (key) => (
        <div key={key} className="md-table">
          <table>
            <thead>
              <tr>
                {table.header.map((cell, n) => <th key={n} style={style(n)}>{inline(cell, `${key}.h.${n}`)}</th>)}
              </tr>
            </thead>
            {rows.length > 0 && (
              <tbody>
                {rows.map((row, r) => (
                  <tr key={r}>
                    {row.map((cell, n) => <td key={n} style={style(n)}>{inline(cell, `${key}.${r}.${n}`)}</td>)}
                  </tr>
                ))}
              </tbody>
            )}
          </table>
        </div>
      ),
    };
  }
  const paragraph: string[] = [];
  while (i < lines.length && !BLANK.test(lines[i] ?? "") && (paragraph.length === 0 || !startsBlockAt(lines, i))) {
    paragraph.push(lines[i] ?? "");
    i += 1;
  }
  return { end: i, render: (key) => <p key={key}>{lineBreaks(paragraph, key)}</p> };
}

const toLines = (source: string): string[] => source.replace(/\r\n?/g, "\n").split("\n");

/** The source's blocks; `depth` counts the lists and quotes around it. */
function blocks(source: string, key: string, depth = 0): ReactNode[] {
  const lines = toLines(source);
  if (depth > MAX_DEPTH) return asText(lines, key); // too deep to nest further: the lines as paragraphs of text
  const out: ReactNode[] = [];
  let i = 0;
  while (i < lines.length) {
    if (BLANK.test(lines[i] ?? "")) {
      i += 1;
      continue;
    }
    const block = blockAt(lines, i);
    out.push(block.render(`${key}.${out.length}`, depth));
    i = block.end;
  }
  return out;
}

/**
 * The source of each top-level block, in order. Each renders alone as it does in the whole (a block's extent is
 * decided by its own lines and the one after it, and the line after is never part of it), so a reply can be
 * rendered block by block, and a block whose text did not change need not be rendered again.
 */
export function topLevelBlocks(source: string): string[] {
  const lines = toLines(source);
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    if (BLANK.test(lines[i] ?? "")) {
      i += 1;
      continue;
    }
    const { end } = blockAt(lines, i);
    out.push(lines.slice(i, end).join("\n"));
    i = end;
  }
  return out;
}

/**
 * A list item's content: its first lines as text with line breaks (a tight item, as chat lists are), then from the
 * first blank line or block (a nested list, code, a quote, a table) its lines as blocks, indented from the item.
 */
function listItem(lines: string[], key: string, depth: number): ReactNode[] {
  const [first = "", ...rest] = lines;
  const indent = rest.reduce((least, l) => (BLANK.test(l) ? least : Math.min(least, indentOf(l))), Infinity);
  const body = rest.map((l) => dedent(l, indent));
  const split = body.findIndex((l, n) => BLANK.test(l) || startsBlockAt(body, n));
  if (split === -1) return lineBreaks([first, ...body], key);
  return [
    ...lineBreaks([first, ...body.slice(0, split)], key),
    ...blocks(body.slice(split).join("\n"), `${key}.b`, depth + 1),
  ];
}

/** Lines as paragraphs of inline text, split on blank lines: content too deeply nested to render as blocks. */
function asText(lines: string[], key: string): ReactNode[] {
  const out: ReactNode[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) out.push(<p key={`${key}.${out.length}`}>{lineBreaks(paragraph, `${key}.${out.length}`)}</p>);
    paragraph = [];
  };
  for (const line of lines) {
    if (BLANK.test(line)) flush();
    else paragraph.push(line);
  }
  flush();
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

/** The whole source's blocks in one go, as Markdown renders them block by block (for tests). */
export function renderMarkdownWhole(source: string): ReactNode {
  return <>{blocks(source, "md")}</>;
}

/** One top-level block; rendered again only when its own text changes. */
const TopLevelBlock = memo(function TopLevelBlock({ source, id }: { source: string; id: string }): ReactNode {
  return <>{blocks(source, id)}</>;
});

/**
 * A reply's Markdown as React elements. A streaming reply re-renders as it grows without losing its elements: each
 * top-level block keeps its place (and its DOM nodes) by its position, and a block whose text did not change (all
 * but the last, mostly) is not parsed or rendered again.
 */
export const Markdown = memo(function Markdown({ source }: { source: string }): ReactNode {
  return (
    <>
      {topLevelBlocks(source).map((text, n) => (
        <TopLevelBlock key={n} id={`md.${n}`} source={text} />
      ))}
    </>
  );
});
