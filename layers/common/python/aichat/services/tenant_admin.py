"""GET and PATCH /admin/config: an admin reads and changes their own tenant's configuration, one version at a time.

The tenant is the token's, never the request's. A change names the version it was made from (If-Match: the ETag of a
GET), and is written only while that version is still the stored one, so of two admins changing it at once one
gets 412 and reads again. Every change is announced as TenantConfigChanged, with field names and no values.
"""

from __future__ import annotations

from dataclasses import dataclass

from aichat.core.clock import Clock, iso
from aichat.core.config_bodies import TenantConfigOut, TenantConfigPatch
from aichat.core.errors import Forbidden, PreconditionFailed, PreconditionRequired
from aichat.core.identity import Identity
from aichat.core.logs import logger
from aichat.core.tenant_config import DeploymentDefaults, changed_fields, effective, patched, resolved
from aichat.notify.domain_events import DomainEvents, tenant_config_changed
from aichat.table.tenants import StoredConfig, TenantConfigCache, TenantConfigs


@dataclass(frozen=True)
class VersionedConfig:
    """A tenant's effective configuration and the ETag of the stored version it comes from."""

    config: TenantConfigOut
    etag: str


def etag(version: int) -> str:
    """The ETag of a stored version: a quoted, strong validator."""
    return f'"{version}"'


class TenantAdminService:
    """An admin's view of their tenant's configuration, and its changes."""

    def __init__(self, configs: TenantConfigs, cache: TenantConfigCache, deployment: DeploymentDefaults,
                 events: DomainEvents, clock: Clock) -> None:
        self._configs = configs
        self._cache = cache
        self._deployment = deployment
        self._events = events
        self._clock = clock

    def read(self, caller: Identity) -> VersionedConfig:
        """The caller's tenant's configuration in force, as stored now (not as a container's cache has it)."""
        _admin_only(caller)
        return self._shown(self._configs.read(caller.tenant_id, consistent=True))

    def change(self, caller: Identity, patch: TenantConfigPatch, if_match: str | None) -> VersionedConfig:
        """Apply a merge patch to the caller's tenant's overrides, if If-Match names the version stored now."""
        _admin_only(caller)
        if if_match is None:
            raise PreconditionRequired()
        stored = self._configs.read(caller.tenant_id, consistent=True)
        if not _matches(if_match, stored.version):
            raise PreconditionFailed()
        overrides = patched(stored.overrides, patch, self._deployment)
        fields = changed_fields(stored.overrides, overrides)
        if not fields:  # nothing changes: no new version, no event
            return self._shown(stored)
        now = iso(self._clock())
        version = self._configs.write(caller.tenant_id, overrides, stored.version, caller.user_id, now)
        self._cache.forget(caller.tenant_id)
        logger().info("tenant config changed", extra={"fields": fields, "version": version})
        self._events.publish(tenant_config_changed(caller, fields, version, now))
        return self._shown(StoredConfig(overrides, version))

    def _shown(self, stored: StoredConfig) -> VersionedConfig:
        config = resolved(self._deployment.limits, self._deployment.retention_days, stored.overrides)
        return VersionedConfig(effective(self._deployment, config), etag(stored.version))


def _matches(if_match: str, version: int) -> bool:
    """Whether If-Match names the stored version, or is `*` (RFC 9110: any current one; a tenant's configuration
    always has one, version 0 before any change). A merge patch sent with `*` still changes only what it names, and
    is written only if no other change lands between this read and its write."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return tags == ["*"] or etag(version) in tags


def _admin_only(caller: Identity) -> None:
    if not caller.is_admin:
        raise Forbidden("The tenant's configuration is for administrators; ask for the admin role.")
