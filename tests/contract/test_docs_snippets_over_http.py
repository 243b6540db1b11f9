"""The documentation's snippets run as written: README's first chat and every route's snippet in docs/api.md, read
from the Markdown (never copied here) and run by bash, in page order, against the local server."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.local_api import local_server
from localdev import process

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_ADDRESS = "http://127.0.0.1:3000"  # what the snippets say: `make dev`'s address
README_MARK = "<!-- snippet: runs against make dev -->"


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", markdown, flags=re.S | re.M)


def readme_snippets() -> list[str]:
    """README's blocks marked as running against `make dev`."""
    text = (ROOT / "README.md").read_text()
    return [bash_blocks(part)[0] for part in text.split(README_MARK)[1:]]


def api_page_snippets() -> list[str]:
    """Every bash block of docs/api.md, in page order: each route's snippet builds on the ones before it."""
    return bash_blocks((ROOT / "docs" / "api.md").read_text())


@pytest.fixture(scope="module")
def server(dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    with local_server(dynamodb_local_url, "--quiet") as running:
        yield running


def run(snippets: list[str], server: process.RunningServer) -> subprocess.CompletedProcess[str]:
    script = "\n".join(snippets).replace(DOCUMENTED_ADDRESS, server.url.rstrip("/"))
    # The tokens `make -s token` mints are signed with the server's secret, as `make dev`'s are.
    env = {**os.environ, "LOCAL_JWT_SECRET": server.secret}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_readme_marks_its_first_chat_as_a_snippet_that_runs() -> None:
    [first_chat] = readme_snippets()
    assert "/chat/stream" in first_chat and "/history" in first_chat


def test_readmes_first_chat_runs_as_written_against_the_local_server(server: process.RunningServer) -> None:
    done = run(readme_snippets(), server)
    assert done.returncode == 0, done.stderr + done.stdout
    assert '"role":"assistant"' in done.stdout.replace(" ", "")
    assert "data: [DONE]" in done.stdout


def test_every_snippet_of_the_api_page_runs_as_written_in_page_order(server: process.RunningServer) -> None:
    snippets = api_page_snippets()
    done = run(snippets, server)
    assert done.returncode == 0, done.stderr + done.stdout
    # Each route's snippet printed its answer: the stream ended, the staff reply was stored, the admin read usage.
    assert "data: [DONE]" in done.stdout
    assert '"role":"agent"' in done.stdout.replace(" ", "")
    assert '"total_cost_cents"' in done.stdout


def test_a_snippet_that_fails_fails_the_run(server: process.RunningServer) -> None:
    # So that a snippet that stops working cannot pass: curl --fail-with-body makes an error answer a failure.
    broken = 'API=http://127.0.0.1:3000/api/v1/ai\ncurl -sS --fail-with-body "$API/sessions/my"\n'
    assert run([broken], server).returncode != 0
