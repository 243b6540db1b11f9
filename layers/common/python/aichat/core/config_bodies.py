"""The admin config routes' request and response bodies (GET and PATCH /admin/config), with the documented bounds
of every field; aichat.core.models re-exports them with the API's other bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# The documented maxima (docs/settings.md, "Tenant configuration"): far above any real tenant's need, low enough that
# a typo (a limit in micro-dollars, a prompt pasted twice) is refused rather than taken.
MAX_COST_LIMIT_CENTS = 100_000_000  # one million dollars
MAX_MESSAGES_PER_SESSION = 10_000
MAX_SESSIONS_PER_USER_PER_DAY = 10_000
MAX_RETENTION_DAYS = 3_650
MAX_SYSTEM_PROMPT_CHARS = 8_000
MAX_TOOLS_PER_SESSION_TYPE = 32


Cents = Annotated[Decimal, Field(ge=0, le=MAX_COST_LIMIT_CENTS, decimal_places=4, allow_inf_nan=False)]


class ModelRef(BaseModel):
    """A model as the deployment routes to it: the provider and the provider's model id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=256)]


class SessionTypePatch(BaseModel):
    """A session type's overrides: each field left out (or null) is the deployment's."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: Annotated[str, Field(min_length=1, max_length=MAX_SYSTEM_PROMPT_CHARS)] | None = Field(
        default=None, description=f"at most {MAX_SYSTEM_PROMPT_CHARS} characters")
    model: ModelRef | None = Field(default=None, description="one of the deployment's configured, priced routes")
    tools: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]],
                     Field(max_length=MAX_TOOLS_PER_SESSION_TYPE)] | None = Field(
        default=None, description="tool names: the built-ins and the deployment's CUSTOM_TOOLS; [] offers none")


class TenantConfigPatch(BaseModel):
    """PATCH /admin/config's body, a JSON merge patch: a field named changes, null puts the deployment's value back,
    a field left out stays as it is. The tenant's stored overrides have the same shape, without nulls."""

    model_config = ConfigDict(extra="forbid")

    daily_cost_limit_cents: Cents | None = None
    user_daily_cost_limit_cents: Cents | None = None
    session_cost_limit_cents: Cents | None = None
    max_messages_per_session: Annotated[int, Field(ge=1, le=MAX_MESSAGES_PER_SESSION)] | None = None
    max_sessions_per_user_per_day: Annotated[int, Field(ge=1, le=MAX_SESSIONS_PER_USER_PER_DAY)] | None = None
    retention_days: Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)] | None = None
    session_types: dict[str, SessionTypePatch | None] | None = Field(
        default=None, description="by session type: customer_support, admin_assistant, network_diagnostics, analytics")


class SessionTypeConfig(BaseModel):
    """A session type as a new session of it starts: its system prompt, its model and its tools."""

    system_prompt: str
    model: ModelRef
    tools: list[str]


class TenantConfigOut(BaseModel):
    """A tenant's effective configuration: the deployment's defaults with the tenant's overrides applied."""

    daily_cost_limit_cents: float = Field(description="cents per UTC day, the tenant's users together")
    user_daily_cost_limit_cents: float | None = Field(description="cents per user per UTC day; null: no such limit")
    session_cost_limit_cents: float = Field(description="cents per session")
    max_messages_per_session: int
    max_sessions_per_user_per_day: int
    retention_days: int = Field(description="days a session and its messages are kept after their last write")
    session_types: dict[str, SessionTypeConfig]
