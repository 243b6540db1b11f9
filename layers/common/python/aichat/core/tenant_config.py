"""A tenant's configuration: what an admin may override (limits, retention, per session type its prompt, model and
tools) checked against the deployment, the JSON merge patch (RFC 7396) that changes it, and the effective values it
yields. The bodies and the bounds of single fields are aichat.core.config_bodies'.

Pure: the deployment's facts (its defaults, its priced routes, its tools) come in as a DeploymentDefaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from aichat.core.budgets import Limits
from aichat.core.config_bodies import SessionTypeConfig, SessionTypePatch, TenantConfigOut, TenantConfigPatch
from aichat.core.errors import InvalidInput
from aichat.core.pricing import micros_to_cents

LIMIT_FIELDS = ("daily_cost_limit_cents", "user_daily_cost_limit_cents", "session_cost_limit_cents",
                "max_messages_per_session", "max_sessions_per_user_per_day")
MONEY_FIELDS = LIMIT_FIELDS[:3]
SESSION_TYPE_FIELDS = ("system_prompt", "model", "tools")


@dataclass(frozen=True)
class DeploymentDefaults:
    """What a tenant without overrides gets, and what an override may choose from."""

    limits: Limits
    retention_days: int
    session_types: Mapping[str, SessionTypeConfig]
    routes: frozenset[tuple[str, str]]  # (provider, model): configured and priced
    tools: tuple[str, ...]  # the built-ins and CUSTOM_TOOLS


@dataclass(frozen=True)
class TenantConfig:
    """A tenant's configuration in force: its limits, its retention, and its own overrides (new sessions read them)."""

    limits: Limits
    retention_days: int
    overrides: TenantConfigPatch

    def session_type(self, session_type: str) -> SessionTypePatch:
        """The tenant's overrides of one session type; every field None where it has none."""
        return (self.overrides.session_types or {}).get(session_type) or SessionTypePatch()


def resolved(limits: Limits, retention_days: int, stored: Mapping[str, Any]) -> TenantConfig:
    """The configuration in force from the deployment's limits and retention and a tenant's stored overrides."""
    overrides = TenantConfigPatch.model_validate(stored)
    return TenantConfig(limits=limits.with_tenant_config(stored),
                        retention_days=overrides.retention_days or retention_days, overrides=overrides)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: an object merges member by member (null removes one), anything else replaces the target."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def patched(stored: Mapping[str, Any], patch: TenantConfigPatch, deployment: DeploymentDefaults) -> dict[str, Any]:
    """The overrides after the patch, checked against the deployment; InvalidInput naming the first bad field."""
    merged = merge_patch(stored, patch.model_dump(mode="python", exclude_unset=True))
    # A session type with no override left is no override at all.
    types = {name: fields for name, fields in (merged.get("session_types") or {}).items() if fields}
    merged.pop("session_types", None)
    if types:
        merged["session_types"] = types
    try:
        checked = TenantConfigPatch.model_validate(merged)
    except ValidationError as e:  # a stored model completed by half (provider patched, model left): named
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}.", field=where) from None
    _check_against(checked, deployment)
    return checked.model_dump(mode="python", exclude_none=True)


def _check_against(overrides: TenantConfigPatch, deployment: DeploymentDefaults) -> None:
    """Session types, models and tools the deployment has; the bounds of single values are the model's."""
    known_types = tuple(deployment.session_types)
    for name, fields in (overrides.session_types or {}).items():
        where = f"session_types.{name}"
        if name not in known_types:
            raise InvalidInput(f"{where}: unknown session type {name!r}; use one of {', '.join(known_types)}.",
                               field=where)
        if fields is None:
            continue
        if fields.model is not None and (fields.model.provider, fields.model.model) not in deployment.routes:
            offered = ", ".join(f"{p}/{m}" for p, m in sorted(deployment.routes))
            raise InvalidInput(f"{where}.model: {fields.model.provider}/{fields.model.model} is not a model this "
                               f"deployment is configured and priced for; use one of {offered}.",
                               field=f"{where}.model")
        for tool in fields.tools or []:
            if tool not in deployment.tools:
                raise InvalidInput(f"{where}.tools: unknown tool {tool!r}; use any of "
                                   f"{', '.join(deployment.tools) or 'none'}.", field=f"{where}.tools")
        if fields.tools is not None and len(set(fields.tools)) != len(fields.tools):
            raise InvalidInput(f"{where}.tools names a tool more than once.", field=f"{where}.tools")


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names of the overrides that differ (session types' as session_types.<type>.<field>); no values."""
    names = [name for name in (*LIMIT_FIELDS, "retention_days") if before.get(name) != after.get(name)]
    old, new = before.get("session_types") or {}, after.get("session_types") or {}
    for session_type in sorted({*old, *new}):
        was, now = old.get(session_type) or {}, new.get(session_type) or {}
        names += [f"session_types.{session_type}.{field}" for field in SESSION_TYPE_FIELDS
                  if was.get(field) != now.get(field)]
    return names


def effective(deployment: DeploymentDefaults, config: TenantConfig) -> TenantConfigOut:
    """What GET /admin/config shows: every field's value in force, the tenant's where it set one."""
    limits = config.limits
    session_types = {}
    for name, default in deployment.session_types.items():
        own = config.session_type(name)
        session_types[name] = SessionTypeConfig(
            system_prompt=own.system_prompt or default.system_prompt, model=own.model or default.model,
            tools=list(own.tools) if own.tools is not None else list(default.tools))
    return TenantConfigOut(
        daily_cost_limit_cents=micros_to_cents(limits.tenant_daily_micros),
        user_daily_cost_limit_cents=None if limits.user_daily_micros is None else micros_to_cents(
            limits.user_daily_micros),
        session_cost_limit_cents=micros_to_cents(limits.session_micros),
        max_messages_per_session=limits.messages_per_session,
        max_sessions_per_user_per_day=limits.sessions_per_user_per_day,
        retention_days=config.retention_days, session_types=session_types)

