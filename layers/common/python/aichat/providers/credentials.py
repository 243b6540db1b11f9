"""Provider API keys: from the environment, or read once per container from Secrets Manager or SSM Parameter Store.

A key lives only in the SDK client it is handed to: it is never logged, returned or kept in settings' repr.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from aichat.core.errors import ProviderNotConfigured
from aichat.core.provider_catalog import PROVIDERS
from aichat.core.settings import Settings
from aichat.providers.faults import not_configured

# The provider object that receives the key is kept for the container's life, so one read per container is what
# happens; the cache age only matters if a provider is built again (after a SnapStart restore).
_CACHE_SECONDS = 3600


class ApiKeys:
    """Each provider's key, looked up on first use; a failed lookup is not cached, so the next request retries."""

    def __init__(self, settings: Settings, aws_client: Callable[[str], Any]) -> None:
        self._settings = settings
        self._aws_client = aws_client
        self._stores: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, provider: str) -> str:
        """The provider's key, or ProviderNotConfigured naming the variables that can hold it."""
        settings = PROVIDERS[provider].key_settings() if provider in PROVIDERS else ()
        if not settings:
            raise not_configured(provider)
        key, secret_variable, parameter_variable = settings
        direct = self._settings.setting(key)
        if direct:
            return str(direct)
        prefix = key.removesuffix("_API_KEY")
        secret = self._settings.setting(secret_variable)
        if secret:
            return _key_from(self._read("secretsmanager", secret, secret_variable), prefix)
        parameter = self._settings.setting(parameter_variable)
        if parameter:
            return _key_from(self._read("ssm", parameter, parameter_variable), prefix)
        raise not_configured(provider)

    def _read(self, service: str, name: str, variable: str) -> str:
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        store = self._store(service)
        try:
            if service == "ssm":
                value = store.get(name, decrypt=True, max_age=_CACHE_SECONDS)
            else:
                value = store.get(name, max_age=_CACHE_SECONDS)
        except GetParameterError as e:
            what = "secret" if service == "secretsmanager" else "parameter"
            raise ProviderNotConfigured(
                f"The API key could not be read from the {what} named by {variable}. An administrator must check "
                f"the name and that the chat function may read it."
            ) from e
        if isinstance(value, bytes):
            value = value.decode()
        return str(value)

    def _store(self, service: str) -> Any:
        with self._lock:
            if service not in self._stores:
                # Powertools' own clients would import boto3; the layer's botocore clients are already configured.
                if service == "ssm":
                    from aws_lambda_powertools.utilities.parameters import SSMProvider

                    self._stores[service] = SSMProvider(boto3_client=self._aws_client("ssm"))
                else:
                    from aws_lambda_powertools.utilities.parameters import SecretsProvider

                    self._stores[service] = SecretsProvider(boto3_client=self._aws_client("secretsmanager"))
            return self._stores[service]


def _key_from(value: str, prefix: str) -> str:
    """A plain key, or the key inside a JSON secret ({"api_key": ...} or {"<PREFIX>_API_KEY": ...})."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            for field in ("api_key", f"{prefix}_API_KEY", "apiKey", "key"):
                if isinstance(data.get(field), str) and data[field].strip():
                    return str(data[field]).strip()
        raise ProviderNotConfigured(
            f"The {prefix.lower()} API key secret is JSON without an api_key field. An administrator must store "
            f'the key alone, or as {{"api_key": "..."}}.'
        )
    if not text:
        raise not_configured(prefix.lower())
    return text
