"""The local server in a child process, on a free port: for the contract tests and the benchmark."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from localdev.banner import DYNAMODB_LINE, READY
from localdev.paths import ROOT
from localdev.token import secret_from

# The child must not pick up a developer's keys, endpoint or port: it runs the offline model on its own database.
_NOT_INHERITED = ("PORT", "DYNAMODB_ENDPOINT_URL", "TABLE_NAME", "LLM_", "AWS_")


def _not_inherited() -> tuple[str, ...]:
    """The prefixes above, and each catalog provider's (OPENAI_ covers its key, base URL and other settings)."""
    from aichat.core.provider_catalog import PROVIDERS

    prefixes = (p.key_variable.removesuffix("API_KEY") for p in PROVIDERS.values() if p.key_variable)
    return (*_NOT_INHERITED, *prefixes, *(v for p in PROVIDERS.values() for v in p.settings()))


@dataclass(frozen=True)
class RunningServer:
    url: str
    dynamodb_endpoint: str
    secret: str
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the server, as a host that dies would end it (no handler runs), and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=timeout)


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path, timeout: float) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        url = re.search(re.escape(READY) + r"(http://\S+?)/?\s", text)
        if url:
            endpoint = re.search(re.escape(DYNAMODB_LINE) + r".*?(http://[\w.:\[\]-]+)", text)
            return url.group(1), endpoint.group(1) if endpoint else ""
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"the local server was not ready within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def started(*args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> Iterator[RunningServer]:
    """`python -m localdev --port 0 *args` with `env` added, until the block ends; its output in a log file."""
    not_inherited = _not_inherited()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(not_inherited)}
    environ.update({"PYTHONUNBUFFERED": "1", "LLM_PROVIDER": "offline", **(env or {})})
    with tempfile.TemporaryDirectory(prefix="localdev-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen([sys.executable, "-m", "localdev", "--port", "0", *args], cwd=ROOT,
                                       env=environ, stdout=sink, stderr=subprocess.STDOUT)
        try:
            url, endpoint = _wait_until_ready(process, log, timeout)
            yield RunningServer(url=url, dynamodb_endpoint=endpoint, secret=secret_from(environ), log=log,
                                process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
