"""The layer's one logger, built on first use: a request that logs nothing does not pay for its imports."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def logger() -> Any:
    """Powertools' structured JSON logger for the service."""
    from aws_lambda_powertools import Logger

    return Logger(service="ai-chat")
