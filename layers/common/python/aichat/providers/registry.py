"""Which provider and model serve a session, built lazily so a function never imports an SDK it does not call."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, get_args

from aichat.errors import ConfigurationError, ProviderNotConfigured
from aichat.models import SessionType
from aichat.providers import ModelRoute, Provider
from aichat.providers.catalog import PROVIDERS
from aichat.providers.credentials import ApiKeys
from aichat.settings import Settings


def _offline(settings: Settings, keys: ApiKeys) -> Provider:
    from aichat.providers.offline import OfflineProvider

    return OfflineProvider(pause_seconds=settings.OFFLINE_STREAM_PAUSE_SECONDS)


def _openai(settings: Settings, keys: ApiKeys) -> Provider:
    api_key = keys.get("openai")  # before the import: a deployment without a key never pays for the SDK
    from aichat.providers.openai import OpenAIProvider

    return OpenAIProvider(api_key, base_url=settings.OPENAI_BASE_URL, timeout=settings.LLM_TIMEOUT_SECONDS,
                          max_tokens_parameter=settings.OPENAI_MAX_TOKENS_PARAMETER)


def _anthropic(settings: Settings, keys: ApiKeys) -> Provider:
    api_key = keys.get("anthropic")
    from aichat.providers.anthropic import AnthropicProvider

    return AnthropicProvider(api_key, base_url=settings.ANTHROPIC_BASE_URL, timeout=settings.LLM_TIMEOUT_SECONDS)


_FACTORIES: dict[str, Callable[[Settings, ApiKeys], Provider]] = {
    "offline": _offline, "openai": _openai, "anthropic": _anthropic,
}
# Known without importing a provider, so a function that never calls a model never loads its SDK.
DEFAULT_MODELS = {name: p.default_model for name, p in PROVIDERS.items()}


class Providers:
    """Builds each provider on first use and keeps it for the life of the container."""

    def __init__(self, settings: Settings, overrides: dict[str, Provider] | None = None,
                 keys: ApiKeys | None = None) -> None:
        self._settings = settings
        self._overrides = dict(overrides or {})
        self._built: dict[str, Provider] = dict(self._overrides)
        self._keys = keys or ApiKeys(settings, _no_aws_client)
        self._lock = threading.Lock()
        unknown = set(settings.LLM_MODELS_BY_SESSION_TYPE) - set(get_args(SessionType))
        if unknown:
            raise ConfigurationError(
                f"LLM_MODELS_BY_SESSION_TYPE has unknown session types {sorted(unknown)}; use "
                f"{sorted(get_args(SessionType))}"
            )

    def get(self, name: str) -> Provider:
        """The named provider, or ProviderNotConfigured saying what to set."""
        with self._lock:
            if name not in self._built:
                factory = _FACTORIES.get(name)
                if factory is None:
                    raise ProviderNotConfigured(
                        f"The {name} provider is not available in this deployment; an administrator must set "
                        f"LLM_PROVIDER to one of {sorted(_FACTORIES)}."
                    )
                self._built[name] = factory(self._settings, self._keys)
            return self._built[name]

    def default(self, session_type: str | None = None) -> tuple[str, str]:
        """The (provider, model) a new session of this type uses: its own entry, else LLM_PROVIDER / LLM_MODEL."""
        choice = self._settings.LLM_MODELS_BY_SESSION_TYPE.get(session_type or "")
        if choice is not None:
            return choice.provider, choice.model or DEFAULT_MODELS[choice.provider]
        name = self._settings.provider
        return name, self._settings.LLM_MODEL or DEFAULT_MODELS[name]

    def fallback(self) -> ModelRoute | None:
        """The route tried when a session's own provider times out, stays rate limited or fails."""
        name = self._settings.LLM_FALLBACK_PROVIDER
        if name is None:
            return None
        return ModelRoute(name, self._settings.LLM_FALLBACK_MODEL or DEFAULT_MODELS[name])

    def routes(self, provider: str, model: str) -> list[ModelRoute]:
        """A session's route followed by the fallback, when there is a different one."""
        primary = ModelRoute(provider, model)
        fallback = self.fallback()
        return [primary] if fallback is None or fallback == primary else [primary, fallback]

    def configured_routes(self) -> list[ModelRoute]:
        """Every route the settings can send a call to: for checking prices and loading SDKs at start."""
        routes = [ModelRoute(*self.default())]
        routes += [ModelRoute(*self.default(session_type))
                   for session_type in self._settings.LLM_MODELS_BY_SESSION_TYPE]
        fallback = self.fallback()
        if fallback is not None:
            routes.append(fallback)
        return list(dict.fromkeys(routes))

    def preload(self) -> list[str]:
        """Import the SDK of every configured provider now (for SnapStart's snapshot), without a key or client."""
        modules = sorted({adapter for r in self.configured_routes() if (adapter := PROVIDERS[r.provider].adapter)})
        for module in modules:
            importlib.import_module(module)
        return modules

    def reset(self) -> None:
        """Forget built providers, so clients (and their connections) are made afresh, e.g. after a restore."""
        with self._lock:
            self._built = dict(self._overrides)


def _no_aws_client(service: str) -> Any:
    raise ConfigurationError(f"no AWS client was given for {service}; build Providers through aichat.wiring")
