import { render } from "@testing-library/react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { MAX_DEPTH, Markdown, renderMarkdownWhole, safeHref, topLevelBlocks } from "./markdown";

const html = (source: string): string => renderToStaticMarkup(<Markdown source={source} />);

describe("Markdown safety", () => {
  it("shows HTML in a reply as text: no script, image or event handler reaches the page", () => {
    const out = html('Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> <b>bold</b>');
    expect(out).toBe(
      "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=&quot;alert(2)&quot;&gt; &lt;b&gt;bold&lt;/b&gt;</p>",
    );
  });

  it("drops javascript:, data: and relative link targets but keeps the words", () => {
    expect(html("[click](javascript:alert(1))")).toBe("<p>click</p>");
    expect(html("[click](JaVaScRiPt:alert(1))")).toBe("<p>click</p>");
    expect(html("[x](data:text/html,<script>alert(1)</script>)")).not.toContain("href");
    expect(html("[home](/admin)")).toBe("<p>home</p>");
  });

  it("accepts only absolute http(s) and mailto URLs as link targets", () => {
    expect(safeHref("https://example.com/a?b=1")).toBe("https://example.com/a?b=1");
    expect(safeHref("mailto:help@example.com")).toBe("mailto:help@example.com");
    expect(safeHref("java\tscript:alert(1)")).toBeNull();
    expect(safeHref("vbscript:msgbox")).toBeNull();
    expect(safeHref("//evil.example")).toBeNull();
  });

  it("opens links in a new tab without giving the new page a handle on this one", () => {
    expect(html("[docs](https://example.com/docs)")).toBe(
      '<p><a href="https://example.com/docs" target="_blank" rel="noopener noreferrer nofollow">docs</a></p>',
    );
  });

  it("shows code as text, HTML included", () => {
    expect(html("`<b>x</b>`")).toBe("<p><code>&lt;b&gt;x&lt;/b&gt;</code></p>");
    expect(html("```html\n<script>alert(1)</script>\n```")).toBe(
      '<pre><code data-language="html">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>',
    );
  });

  it("keeps a table cell's HTML as text and refuses its javascript: and data: links", () => {
    const out = html(
      "| <b>name</b> | link |\n|---|:-:|\n" +
        "| <script>alert(1)</script> | [x](javascript:alert(1)) |\n" +
        "| <img src=x onerror=\"alert(2)\"> | [y](data:text/html,hi) <javascript:alert(4)> |",
    );
    expect(out).toBe(
      '<div class="md-table"><table><thead><tr><th>&lt;b&gt;name&lt;/b&gt;</th><th style="text-align:center">link</th></tr></thead>' +
        "<tbody><tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td style=\"text-align:center\">x</td></tr>" +
        '<tr><td>&lt;img src=x onerror=&quot;alert(2)&quot;&gt;</td><td style="text-align:center">y &lt;javascript:alert(4)&gt;</td></tr>' +
        "</tbody></table></div>",
    );
  });

  it("takes a column's alignment only from :---, ---: and :---:, so a delimiter row cannot write an attribute", () => {
    const out = html('| a |\n|:-:" onmouseover="alert(1)|\n| b |');
    expect(out).not.toContain("<table");
    expect(out).not.toContain('onmouseover="');
    expect(out).toBe("<p>| a |<br/>|:-:&quot; onmouseover=&quot;alert(1)|<br/>| b |</p>");
  });

  it("keeps a nested list item's HTML as text and refuses its javascript: links, at every level", () => {
    const out = html(
      "- outer <script>alert(1)</script>\n" +
        "  - [x](javascript:alert(2))\n" +
        "    1. <img src=x onerror=\"alert(3)\"> [y](JaVaScRiPt:alert(4))\n" +
        "       - <a href=\"javascript:alert(5)\">z</a>",
    );
    expect(out).toBe(
      "<ul><li>outer &lt;script&gt;alert(1)&lt;/script&gt;<ul><li>x<ol><li>&lt;img src=x onerror=&quot;alert(3)&quot;&gt; y" +
        "<ul><li>&lt;a href=&quot;javascript:alert(5)&quot;&gt;z&lt;/a&gt;</li></ul></li></ol></li></ul></li></ul>",
    );
  });

  it("renders a reply nested thousands of levels deep without running out of stack, the depths as text", () => {
    const quotes = html(`${"> ".repeat(10_000)}<script>deep</script>`);
    expect(quotes.match(/<blockquote>/g)).toHaveLength(MAX_DEPTH + 1);
    expect(quotes).toContain("&gt; &gt; &lt;script&gt;deep&lt;/script&gt;");
    const list = html(Array.from({ length: 1_000 }, (_, n) => `${"  ".repeat(n)}- level ${n}`).join("\n"));
    expect(list.match(/<ul>/g)).toHaveLength(MAX_DEPTH + 1);
    expect(list).toContain("- level 999</p>");
  });
});

describe("Markdown formatting", () => {
  it("renders a GFM table: header, aligned columns, inline markdown in cells", () => {
    expect(html("| Plan | Seats | Price | Notes |\n|:-----|:-----:|------:|-------|\n| **Pro** | 5 | $10 | see [docs](https://example.com) |\n| `team` | 50 | $90 | _yearly_ |")).toBe(
      '<div class="md-table"><table><thead><tr><th style="text-align:left">Plan</th><th style="text-align:center">Seats</th>' +
        '<th style="text-align:right">Price</th><th>Notes</th></tr></thead><tbody>' +
        '<tr><td style="text-align:left"><strong>Pro</strong></td><td style="text-align:center">5</td><td style="text-align:right">$10</td>' +
        '<td>see <a href="https://example.com/" target="_blank" rel="noopener noreferrer nofollow">docs</a></td></tr>' +
        '<tr><td style="text-align:left"><code>team</code></td><td style="text-align:center">50</td><td style="text-align:right">$90</td>' +
        "<td><em>yearly</em></td></tr></tbody></table></div>",
    );
  });

  it("reads table rows as GFM does: outer pipes optional, escaped pipes, missing cells empty, extra cells dropped", () => {
    expect(html("a | b\n--|--\n`x\\|y` | 2 | 3\n1")).toBe(
      '<div class="md-table"><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>' +
        "<tr><td><code>x|y</code></td><td>2</td></tr></tbody></table></div><p>1</p>",
    );
    expect(html("| a | b |\n|---|---|\n| only |")).toContain("<tr><td>only</td><td></td></tr>");
    expect(html("| a |\n|---|")).toBe('<div class="md-table"><table><thead><tr><th>a</th></tr></thead></table></div>');
  });

  it("starts a table right after a paragraph line and ends it at a blank line or a line without a pipe", () => {
    expect(html("Compare:\n| a | b |\n|---|---|\n| 1 | 2 |\nThat is all.")).toBe(
      '<p>Compare:</p><div class="md-table"><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>' +
        "<tr><td>1</td><td>2</td></tr></tbody></table></div><p>That is all.</p>",
    );
  });

  it("leaves pipes that are not a table as text", () => {
    expect(html("| a | b |\n|---|")).toBe("<p>| a | b |<br/>|---|</p>"); // the delimiter row has another count
    expect(html("a | b\nc | d")).toBe("<p>a | b<br/>c | d</p>");
    expect(html("title\n---")).toBe("<p>title</p><hr/>"); // a delimiter row needs a pipe
  });

  it("nests lists by indentation: bullets in bullets, bullets in numbers, numbers in bullets", () => {
    expect(html("- a\n  - a.1\n    - a.1.1\n  - a.2\n- b")).toBe(
      "<ul><li>a<ul><li>a.1<ul><li>a.1.1</li></ul></li><li>a.2</li></ul></li><li>b</li></ul>",
    );
    expect(html("1. **Install**\n   - run `npm i`\n   - wait\n2. Start\n   1. open\n   2. click")).toBe(
      "<ol><li><strong>Install</strong><ul><li>run <code>npm i</code></li><li>wait</li></ul></li>" +
        "<li>Start<ol><li>open</li><li>click</li></ol></li></ol>",
    );
    expect(html("- steps\n    3. third\n    4. fourth")).toBe('<ul><li>steps<ol start="3"><li>third</li><li>fourth</li></ol></li></ul>');
  });

  it("nests with two spaces under a number, four spaces or a tab, and keeps one stray space a sibling", () => {
    expect(html("1. a\n  - b")).toBe("<ol><li>a<ul><li>b</li></ul></li></ol>");
    expect(html("- a\n    - b\n- c")).toBe("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>");
    expect(html("- a\n\t- b")).toBe("<ul><li>a<ul><li>b</li></ul></li></ul>");
    expect(html("- a\n - b")).toBe("<ul><li>a</li><li>b</li></ul>");
  });

  it("keeps an item's continuation lines, code, paragraphs and tables inside the item", () => {
    expect(html("- a\n  more a\n  - a.1\n- b")).toBe("<ul><li>a<br/>more a<ul><li>a.1</li></ul></li><li>b</li></ul>");
    expect(html("1. Run:\n   ```bash\n   npm ci\n     --silent\n   ```\n2. Done")).toBe(
      '<ol><li>Run:<pre><code data-language="bash">npm ci\n  --silent</code></pre></li><li>Done</li></ol>',
    );
    expect(html("- a\n\n  second paragraph\n- b")).toBe("<ul><li>a<p>second paragraph</p></li><li>b</li></ul>");
    expect(html("- a\n  | x |\n  |---|\n  | 1 |")).toBe(
      '<ul><li>a<div class="md-table"><table><thead><tr><th>x</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table></div></li></ul>',
    );
  });

  it("renders strong, emphasis, strikethrough and inline code", () => {
    expect(html("**bold** and *it* and _it_ and ~~gone~~ and `x = 1`")).toBe(
      "<p><strong>bold</strong> and <em>it</em> and <em>it</em> and <del>gone</del> and <code>x = 1</code></p>",
    );
  });

  it("nests emphasis inside strong and inside link text", () => {
    expect(html("**a *b* c**")).toBe("<p><strong>a <em>b</em> c</strong></p>");
    expect(html("[**Docs**](https://example.com)")).toContain("<strong>Docs</strong></a>");
  });

  it("leaves snake_case names, lone asterisks and 2 * 3 * 4 alone", () => {
    expect(html("set max_tokens_per_call and 2 * 3 * 4")).toBe("<p>set max_tokens_per_call and 2 * 3 * 4</p>");
    expect(html("**not closed")).toBe("<p>**not closed</p>");
  });

  it("keeps escaped markdown characters literal", () => {
    expect(html("\\*not emphasis\\*")).toBe("<p>*not emphasis*</p>");
  });

  it("splits paragraphs on blank lines and keeps single newlines as line breaks", () => {
    expect(html("one\ntwo\n\nthree")).toBe("<p>one<br/>two</p><p>three</p>");
  });

  it("renders bulleted and numbered lists, with a numbered list's own start", () => {
    expect(html("- a\n- b\n  more b\n\n- c")).toBe("<ul><li>a</li><li>b<br/>more b</li><li>c</li></ul>");
    expect(html("3. three\n4. four")).toBe('<ol start="3"><li>three</li><li>four</li></ol>');
    expect(html("Steps:\n1. open\n2. click")).toBe("<p>Steps:</p><ol><li>open</li><li>click</li></ol>");
  });

  it("renders headings below the page's own levels, quotes and rules", () => {
    expect(html("# Title\n### Small")).toBe("<h3>Title</h3><h5>Small</h5>");
    expect(html("> quoted\n> more")).toBe("<blockquote><p>quoted<br/>more</p></blockquote>");
    expect(html("a\n\n---\n\nb")).toBe("<p>a</p><hr/><p>b</p>");
  });

  it("links bare URLs without the sentence's closing punctuation", () => {
    expect(html("See https://example.com/help.")).toBe(
      '<p>See <a href="https://example.com/help" target="_blank" rel="noopener noreferrer nofollow">https://example.com/help</a>.</p>',
    );
  });

  it("keeps an unclosed code fence's lines as code", () => {
    expect(html("```\nline 1\nline 2")).toBe("<pre><code>line 1\nline 2</code></pre>");
  });
});

/** A reply that uses every block, with blank lines inside a list, a fence and a table, written as a model would. */
const GROWING = [
  "# Plan", "", "Some **bold** text", "and a second line.", "", "- one", "- two", "", "  still two", "", "- three",
  "  1. nested", "", "```ts", "const a = 1;", "", "const b = 2;", "```", "", "| a | b |", "|:--|--:|", "| 1 | 2 |", "",
  "> quoted", "> more", "", "---", "", "a | b", "|---|---|", "", "1. last", "", "Done.",
].join("\n");

describe("Markdown while a reply streams", () => {
  it("renders block by block exactly as the whole source renders, at every length of a growing reply", () => {
    for (let end = 0; end <= GROWING.length; end += 1) {
      const source = GROWING.slice(0, end);
      expect(html(source), `the first ${end} characters`).toBe(renderToStaticMarkup(renderMarkdownWhole(source)));
    }
    expect(topLevelBlocks(GROWING)[0]).toBe("# Plan");
  });

  it("keeps a growing reply's elements: a longer source updates the same nodes", () => {
    const view = render(<Markdown source={"First paragraph.\n\nSecond"} />);
    const [first, second] = view.container.querySelectorAll("p");
    view.rerender(<Markdown source={"First paragraph.\n\nSecond, longer.\n\n- a list"} />);
    const after = view.container.querySelectorAll("p");
    expect(after[0]).toBe(first);
    expect(after[1]).toBe(second);
    expect(second?.textContent).toBe("Second, longer.");
    expect(view.container.querySelector("li")?.textContent).toBe("a list");
  });
});
