"""What a failed model call means for the caller: try again, try the fallback, or tell a person what to do.

Adapters call these at their SDK boundary, so every provider fails the same way and failover never sees an SDK type.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from aichat.core.errors import ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.core.provider_catalog import known


def key_variables(provider: str) -> str:
    """The settings that can hold a provider's key, for messages that tell an administrator what to set."""
    key, secret, parameter = known(provider).key_settings()
    return f"{key} (or {secret} / {parameter})"


def not_configured(provider: str) -> ProviderNotConfigured:
    """The 503 for a provider without a key, naming the variables to set."""
    return ProviderNotConfigured(
        f"{known(provider).display} API key not configured. An administrator must set "
        f"{key_variables(provider)}."
    )


def timed_out() -> ProviderTimeout:
    """The 504 for a call that took longer than its timeout."""
    return ProviderTimeout(
        "The model provider did not answer in time. Your message was kept and nothing was charged; "
        "send it again in a moment."
    )


def unreachable() -> ProviderError:
    """The 502 for a call that never reached the provider (DNS, refused or reset connection)."""
    return ProviderError(
        "The model provider could not be reached. Your message was kept and nothing was charged; "
        "try again in a moment.", transient=True,
    )


def malformed() -> ProviderError:
    """The 502 for an answer that is not the provider's documented shape."""
    return ProviderError(
        "The model provider sent an answer that could not be read. Your message was kept and nothing was "
        "charged; try again, and tell support if it keeps happening."
    )


def incomplete() -> ProviderError:
    """The 502 for a stream that ended before the provider said its reply was done (no final usage)."""
    return ProviderError(
        "The model provider's stream ended before its reply was complete. Your message was kept and nothing was "
        "charged; try again in a moment.", transient=True,
    )


def failed_mid_stream() -> ProviderError:
    """The 502 for an error the provider reported inside a stream it had begun (an overloaded model, say)."""
    return ProviderError(
        "The model provider failed while answering. Your message was kept and nothing was charged; try again "
        "shortly.", transient=True,
    )


def stream_cut() -> ProviderError:
    """The 502 for a stream that failed after part of its reply arrived (failover decides it: the part is kept)."""
    return ProviderError(
        "The model provider's stream ended before the reply was complete. What arrived is kept; send your message "
        "again to continue.", transient=True,
    )


def status_error(provider: str, status: int, headers: Mapping[str, str]) -> ProviderError | ProviderNotConfigured:
    """The error for an HTTP error status from the provider; 429 and 5xx are transient."""
    if status in (401, 403):
        return ProviderNotConfigured(
            f"{known(provider).display} refused the configured API key. An administrator must set a valid "
            f"{key_variables(provider)}."
        )
    if status == 429:
        wait = retry_after_seconds(headers)
        return ProviderError(
            "The model provider is receiving too many requests. Your message was kept and nothing was charged; "
            "try again in a minute.", transient=True, retry_after=wait,
        )
    if status >= 500 or status == 408:
        return ProviderError(
            f"The model provider failed (HTTP {status}). Your message was kept and nothing was charged; "
            "try again shortly.", transient=True, retry_after=retry_after_seconds(headers),
        )
    return ProviderError(
        f"The model provider refused the request (HTTP {status}). Your message was kept and nothing was charged; "
        "try a shorter message or a new session, and tell support if it keeps happening."
    )


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a provider asked for: retry-after-ms, or Retry-After in seconds or as an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@contextmanager
def sdk_faults(provider: str, sdk: ModuleType, transport: ModuleType) -> Iterator[None]:
    """Turn the errors of an SDK built on the shared Stainless layout (openai, anthropic), and those of its HTTP
    transport (httpx2 for both) that can escape it while a stream is read, into the project's own.

    The transport is passed in rather than imported: this module is loaded by functions that never call a model.
    """
    try:
        yield
    except sdk.APITimeoutError as e:  # a subclass of APIConnectionError: caught first
        raise timed_out() from e
    except sdk.APIConnectionError as e:
        raise unreachable() from e
    except sdk.APIStatusError as e:
        # Not chained: an authentication error's message can quote part of the key.
        if e.status_code < 400:
            # An error event inside a stream that began well (Anthropic's carry the stream's 200).
            raise failed_mid_stream() from None
        raise status_error(provider, e.status_code, e.response.headers) from None
    except (sdk.APIResponseValidationError, ValueError) as e:
        raise malformed() from e
    except sdk.APIError:
        # What is left of the SDK's own errors: an error object inside a stream (OpenAI's). Not chained, as above.
        raise failed_mid_stream() from None
    except transport.TimeoutException as e:
        raise timed_out() from e
    except transport.RequestError as e:
        raise unreachable() from e
