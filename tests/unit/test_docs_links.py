"""The repository's Markdown links lead somewhere: every relative link names a file or folder inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "widget" / "README.md", *sorted((ROOT / "examples").glob("*/README.md")),
             *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) outside code spans; the target up to a space, a `#fragment` or the closing parenthesis.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)[^)]*\)")
# Links in a document kept as it was written, which point at pages that were never part of this repository.
KEPT_AS_WRITTEN = {("docs/ai-chat-quick-start.md", "./AI_INTEGRATION_GUIDE.md")}


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.exists()], ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_in_the_repository(document: Path) -> None:
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    name = str(document.relative_to(ROOT))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or (name, target) in KEPT_AS_WRITTEN:
            continue
        resolved = (document.parent / target).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    assert not broken, f"{name} links to what is not in the repository: {broken}"
