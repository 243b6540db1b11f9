"""Tenants' configuration items (`TENANT#<tenant>` / `CONFIG`): read and written whole under a version, and the
configuration in force per tenant, cached per container for TENANT_CONFIG_TTL_SECONDS.

The item's attributes are the overrides' own names: the five limits and retention_days as numbers, session_types as
JSON text; `version` counts the writes through the API (an item written by hand has none: version 0).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aichat.core.budgets import Limits
from aichat.core.errors import PreconditionFailed
from aichat.core.settings import Settings
from aichat.core.tenant_config import MONEY_FIELDS, TenantConfig, resolved
from aichat.table import keys
from aichat.table.transactions import Item, n, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BOOKKEEPING = ("PK", "SK", "version", "updated_at", "updated_by")


@dataclass(frozen=True)
class StoredConfig:
    """A tenant's overrides as stored, and the version they were read at."""

    overrides: dict[str, Any]
    version: int


class TenantConfigs:
    """The tenants' configuration items."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def read(self, tenant_id: str, *, consistent: bool = False) -> StoredConfig:
        """The tenant's overrides and their version; none at version 0 when it has no item. A write reads
        consistently; the cache need not (it is as old as its TTL anyway)."""
        item = self._db.get_item(TableName=self._table, Key=_key(tenant_id),
                                 ConsistentRead=consistent).get("Item", {})
        overrides: dict[str, Any] = {}
        for name, value in item.items():
            if name in _BOOKKEEPING:
                continue
            if name == "session_types" and "S" in value:
                overrides[name] = json.loads(value["S"])
            elif "N" in value:
                number = Decimal(value["N"])
                overrides[name] = number if name in MONEY_FIELDS else int(number)
            elif "S" in value:
                overrides[name] = value["S"]
        return StoredConfig(overrides, int(item.get("version", {}).get("N", "0")))

    def write(self, tenant_id: str, overrides: Mapping[str, Any], read_version: int, admin_id: str,
              now: str) -> int:
        """Replace the tenant's overrides if they are still at `read_version`; the new version, or
        PreconditionFailed when another write came first."""
        item: Item = {**_key(tenant_id), "version": n(read_version + 1), "updated_at": s(now),
                      "updated_by": s(admin_id)}
        for name, value in overrides.items():
            item[name] = s(json.dumps(value, sort_keys=True)) if name == "session_types" else {"N": str(value)}
        # The write that read this version wins; any other saw an older one. A hand-written item has no version.
        condition = "attribute_not_exists(version)" if read_version == 0 else "version = :read"
        values: dict[str, Any] = {} if read_version == 0 else {"ExpressionAttributeValues": {":read": n(read_version)}}
        try:
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression=condition, **values)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise PreconditionFailed() from None
            raise
        return read_version + 1


def _key(tenant_id: str) -> Item:
    return {"PK": s(keys.tenant_pk(tenant_id)), "SK": s(keys.CONFIG_SK)}


class TenantConfigCache:
    """Reads a tenant's config item at most once per TENANT_CONFIG_TTL_SECONDS in each container, so a change made
    through the API is in force everywhere within that time."""

    def __init__(self, settings: Settings, configs: TenantConfigs) -> None:
        self._defaults = Limits.from_settings(settings)
        self._retention_days = settings.RETENTION_DAYS
        self._configs = configs
        self._ttl = settings.TENANT_CONFIG_TTL_SECONDS
        self._cache: dict[str, tuple[float, TenantConfig]] = {}
        self._lock = threading.Lock()

    def config(self, tenant_id: str) -> TenantConfig:
        """The configuration in force for a tenant now."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        config = resolved(self._defaults, self._retention_days, self._configs.read(tenant_id).overrides)
        with self._lock:
            self._cache[tenant_id] = (now, config)
        return config

    def for_tenant(self, tenant_id: str) -> Limits:
        """The limits in force for a tenant now."""
        return self.config(tenant_id).limits

    def retention_days(self, tenant_id: str) -> int:
        """How long a tenant's items written now are kept after that write."""
        return self.config(tenant_id).retention_days

    def forget(self, tenant_id: str) -> None:
        """Read the tenant's item afresh next time (this container just changed it)."""
        with self._lock:
            self._cache.pop(tenant_id, None)
