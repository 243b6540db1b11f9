"""Which provider serves a session, built lazily so a function never imports an SDK it does not call."""

from __future__ import annotations

from collections.abc import Callable

from aichat.errors import ProviderNotConfigured
from aichat.providers import Provider
from aichat.settings import Settings


def _offline(settings: Settings) -> Provider:
    from aichat.providers.offline import OfflineProvider

    return OfflineProvider()


_FACTORIES: dict[str, Callable[[Settings], Provider]] = {"offline": _offline}
# Known without importing a provider, so a function that never calls a model never loads its SDK.
DEFAULT_MODELS = {"offline": "offline-1", "openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


class Providers:
    """Builds each provider on first use and keeps it for the life of the container."""

    def __init__(self, settings: Settings, overrides: dict[str, Provider] | None = None) -> None:
        self._settings = settings
        self._built: dict[str, Provider] = dict(overrides or {})

    def get(self, name: str) -> Provider:
        """The named provider, or ProviderNotConfigured saying what to set."""
        if name not in self._built:
            factory = _FACTORIES.get(name)
            if factory is None:
                raise ProviderNotConfigured(
                    f"The {name} provider is not available in this deployment; set LLM_PROVIDER to one of "
                    f"{sorted(_FACTORIES)}."
                )
            self._built[name] = factory(self._settings)
        return self._built[name]

    def default(self) -> tuple[str, str]:
        """The (provider, model) a new session uses."""
        name = self._settings.provider
        model = self._settings.LLM_MODEL or DEFAULT_MODELS[name]
        return name, model
