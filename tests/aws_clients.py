"""botocore clients for the tests, all from one session: a session loads each service's model once, and a new
session per client cost every moto test tens of milliseconds before it began."""

from __future__ import annotations

import threading
from typing import Any

import botocore.session

REGION = "us-east-1"

_lock = threading.Lock()  # a botocore session is not safe to create clients from in several threads at once
_sessions: list[botocore.session.Session] = []


def client(service: str, *, region_name: str = REGION, **kwargs: Any) -> Any:
    """A client of `service` (endpoint_url, credentials, config as botocore's create_client takes them)."""
    with _lock:
        # Made at the first call, not at import: a session copies the handlers registered by then, and moto's,
        # which answer in-process under mock_aws, are registered when conftest imports moto.
        if not _sessions:
            _sessions.append(botocore.session.get_session())
        return _sessions[0].create_client(service, region_name=region_name, **kwargs)
