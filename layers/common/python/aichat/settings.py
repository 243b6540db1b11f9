"""Settings: read from the environment once, validated by pydantic, passed in everywhere else."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aichat.errors import ConfigurationError

ProviderName = Literal["offline", "openai", "anthropic"]

_JSON_FIELDS = ("SYSTEM_PROMPTS", "PRICES")


class Settings(BaseModel):
    """Every setting the product reads, with the guide's defaults; field names are the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TABLE_NAME: str = "ai-chat"
    DYNAMODB_ENDPOINT_URL: str | None = None
    AWS_REGION: str = "us-east-1"
    ESCALATION_TOPIC_ARN: str | None = None

    LLM_PROVIDER: ProviderName | None = None
    LLM_MODEL: str | None = None
    OPENAI_API_KEY: str | None = Field(default=None, repr=False)
    ANTHROPIC_API_KEY: str | None = Field(default=None, repr=False)

    DAILY_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] = Decimal(10000)
    USER_DAILY_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] | None = None
    SESSION_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] = Decimal(100)
    MAX_MESSAGES_PER_SESSION: Annotated[int, Field(ge=1)] = 100
    MAX_SESSIONS_PER_USER_PER_DAY: Annotated[int, Field(ge=1)] = 50

    MAX_CONTEXT_MESSAGES: Annotated[int, Field(ge=0, le=100)] = 10
    MAX_TOKENS: Annotated[int, Field(ge=1, le=64000)] = 500
    TEMPERATURE: Annotated[float, Field(ge=0, le=2)] = 0.7

    TENANT_CLAIM: str = "tenant_id"
    ROLES_CLAIM: str = "roles"
    RETENTION_DAYS: Annotated[int, Field(ge=1)] = 90
    TENANT_CONFIG_TTL_SECONDS: Annotated[int, Field(ge=0)] = 60

    # JSON objects: {"customer_support": "You are ..."} and {"model": {"input": 0.15, "output": 0.6}}
    # (USD per million tokens); both merge over the built-in tables.
    SYSTEM_PROMPTS: dict[str, str] = Field(default_factory=dict)
    PRICES: dict[str, dict[str, Decimal]] = Field(default_factory=dict)

    @field_validator("USER_DAILY_COST_LIMIT_CENTS", "LLM_PROVIDER", "LLM_MODEL", "DYNAMODB_ENDPOINT_URL",
                     "ESCALATION_TOPIC_ARN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # CloudFormation parameters cannot be null, so an empty string means "not set".
        return None if value == "" else value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Validate settings from an environment mapping; a bad value raises ConfigurationError naming it."""
        values: dict[str, Any] = {name: environ[name] for name in cls.model_fields if name in environ}
        for name in _JSON_FIELDS:
            if values.get(name):
                try:
                    values[name] = json.loads(values[name])
                except json.JSONDecodeError as e:
                    raise ConfigurationError(f"{name} must be a JSON object: {e.msg}") from e
            else:
                values.pop(name, None)
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
            raise ConfigurationError(f"invalid settings: {problems}") from e

    @property
    def provider(self) -> ProviderName:
        """The default provider: the one named, else the first with a key, else offline."""
        if self.LLM_PROVIDER:
            return self.LLM_PROVIDER
        if self.OPENAI_API_KEY:
            return "openai"
        if self.ANTHROPIC_API_KEY:
            return "anthropic"
        return "offline"


@cache
def load_settings() -> Settings:
    """The process's settings, read from os.environ on first use only."""
    return Settings.from_environ(os.environ)
