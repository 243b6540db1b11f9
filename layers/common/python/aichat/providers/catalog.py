"""The providers this product knows, each fact about them declared once: names, key settings, default models.

Imports no SDK: settings, error messages, the registry and the local server's banner all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    """One provider: its display name, the setting its key is read from, its default model, its adapter module."""

    display: str
    default_model: str
    key_variable: str | None = None  # None: needs no key
    adapter: str | None = None

    def key_settings(self) -> tuple[str, ...]:
        """The settings that can hold the key: the key itself, a Secrets Manager secret, an SSM parameter."""
        if self.key_variable is None:
            return ()
        return (self.key_variable, f"{self.key_variable}_SECRET", f"{self.key_variable}_PARAMETER")


PROVIDERS: dict[str, Known] = {
    "offline": Known("the offline model", "offline-1"),
    "openai": Known("OpenAI", "gpt-4o-mini", "OPENAI_API_KEY", "aichat.providers.openai"),
    "anthropic": Known("Anthropic", "claude-haiku-4-5", "ANTHROPIC_API_KEY", "aichat.providers.anthropic"),
}
# The order a deployment with no LLM_PROVIDER picks from: the first provider whose key is set.
BY_PREFERENCE = ("openai", "anthropic")


def known(provider: str) -> Known:
    """The facts about a provider; an unknown name gets a stand-in built from it."""
    return PROVIDERS.get(provider) or Known(provider, "", f"{provider.upper()}_API_KEY")
