import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown, safeHref } from "./markdown";

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
});

describe("Markdown formatting", () => {
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
