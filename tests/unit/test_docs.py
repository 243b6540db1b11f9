"""README and docs/ as a reader meets them: every internal link and anchor leads somewhere, every route has its
section in the API page, and README stays a front door."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from aichat.api.routes import ROUTES, STREAM_ROUTES

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The guide the API was first described in, kept as it was written: its one link names a guide never in this
# repository (the page's own note says so).
ORIGINAL_GUIDE = ROOT / "docs" / "ai-chat-quick-start.md"
README_MAX_LINES = 300
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The page without its code blocks and inline code, where a bracket is no link."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors GitHub gives the page's headings (a repeated heading gets -1, -2 …)."""
    seen: dict[str, int] = {}
    out = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(out)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in _LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside this repository
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{page.name}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{page.name}: {target} (no such heading)")
    return broken


def test_every_internal_link_and_anchor_of_readme_and_docs_leads_somewhere() -> None:
    assert [b for page in PAGES if page != ORIGINAL_GUIDE for b in broken_links(page)] == []


def test_every_route_in_the_route_table_has_its_section_in_the_api_page() -> None:
    headings = set(re.findall(r"^### `([A-Z]+ \S+)`$", (ROOT / "docs" / "api.md").read_text(), flags=re.M))
    routes = {f"{r.method} {r.path}" for r in (*ROUTES, *STREAM_ROUTES)}
    assert routes - headings == set(), "a route without its section in docs/api.md"
    assert headings - routes == set(), "a section of docs/api.md for a route the table does not have"


def test_readme_is_a_front_door_of_at_most_300_lines_that_leads_to_the_docs_index() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "docs/index.md" in _LINK.findall(prose(ROOT / "README.md"))


def test_the_docs_index_and_the_sites_navigation_list_every_page() -> None:
    index = ROOT / "docs" / "index.md"
    linked = {Path(t.partition("#")[0]).name for t in _LINK.findall(prose(index))}
    pages = {p.name for p in PAGES[1:]} - {"index.md"}
    assert pages - linked == set(), "a page docs/index.md does not list"
    nav = set(re.findall(r":\s+([\w.-]+\.md)$", (ROOT / "mkdocs.yml").read_text(), flags=re.M))
    assert pages | {"index.md"} == nav, "a page the site's navigation (mkdocs.yml) leaves out"


def test_the_docs_site_builds_without_a_warning(tmp_path: Path) -> None:
    # strict: a link between pages to a missing page or anchor, or any other warning, fails the build.
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    assert (tmp_path / "site" / "api" / "index.html").is_file()


def test_the_example_apps_hook_the_browser_runs_is_the_streaming_pages_snippet_word_for_word() -> None:
    page = (ROOT / "examples" / "use-chat" / "src" / "use-backend-chat.ts").read_text(encoding="utf-8")
    ran = page.split("// docs snippet: start\n", 1)[1].split("// docs snippet: end", 1)[0]
    section = (ROOT / "docs" / "streaming.md").read_text(encoding="utf-8").split("## Any `useChat` app", 1)[1]
    shown = section.split("```tsx\n", 1)[1].split("```", 1)[0]
    assert ran.strip() and shown == ran


def test_the_link_check_catches_a_missing_page_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A page\n\n## Its part\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#its-part) [gone](c.md) [no heading](a.md#nothing) `[code](x.md)`\n")
    assert broken_links(page) == ["b.md: c.md (no such file)", "b.md: a.md#nothing (no such heading)"]
