"""Which provider and model serve a session, built lazily so a function never imports an SDK it does not call."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, get_args

from aichat.core.errors import ConfigurationError, ProviderNotConfigured
from aichat.core.models import SessionType
from aichat.core.provider_catalog import PROVIDERS
from aichat.core.settings import Settings
from aichat.providers.credentials import ApiKeys
from aichat.providers.interface import ModelRoute, Provider

# A provider's build function, named by its catalog entry: (settings, api key, base URL) -> Provider.
ProviderFactory = Callable[[Settings, str | None, str | None], Provider]


def _build(name: str, settings: Settings, keys: ApiKeys) -> Provider:
    """The named provider, from its catalog entry: the key read before the import, so a deployment without one never
    pays for the SDK."""
    entry = PROVIDERS[name]
    api_key = keys.get(name) if entry.key_variable else None
    base_url = settings.setting(entry.base_url_variable) if entry.base_url_variable else None
    module, _, function = entry.build.partition(":")
    factory: ProviderFactory = getattr(importlib.import_module(module), function)
    return factory(settings, api_key, base_url)


class _DefaultModels(Mapping[str, str]):
    """Each provider's default model, read from the catalog as it is now: known without importing an SDK."""

    def __getitem__(self, provider: str) -> str:
        return PROVIDERS[provider].default_model

    def __iter__(self) -> Iterator[str]:
        return iter(PROVIDERS)

    def __len__(self) -> int:
        return len(PROVIDERS)


DEFAULT_MODELS: Mapping[str, str] = _DefaultModels()


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
                if name not in PROVIDERS or not PROVIDERS[name].build:
                    raise ProviderNotConfigured(
                        f"The {name} provider is not available in this deployment; an administrator must set "
                        f"LLM_PROVIDER to one of {sorted(n for n, p in PROVIDERS.items() if p.build)}."
                    )
                self._built[name] = _build(name, self._settings, self._keys)
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
