"""Per-tenant limits: the settings' defaults with the tenant's config item applied, cached per container."""

from __future__ import annotations

import threading
import time

from aichat.core.budgets import Limits
from aichat.core.settings import Settings
from aichat.table.sessions import Store


class TenantLimitsCache:
    """Reads a tenant's config item at most once per TENANT_CONFIG_TTL_SECONDS in each container."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._defaults = Limits.from_settings(settings)
        self._store = store
        self._ttl = settings.TENANT_CONFIG_TTL_SECONDS
        self._cache: dict[str, tuple[float, Limits]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> Limits:
        """The limits in force for a tenant now."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        limits = self._defaults.with_tenant_config(self._store.tenant_config(tenant_id))
        with self._lock:
            self._cache[tenant_id] = (now, limits)
        return limits
