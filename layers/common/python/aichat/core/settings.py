"""Settings: read from the environment once, validated by pydantic, passed in everywhere else."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from aichat.core import provider_catalog as catalog
from aichat.core.errors import ConfigurationError
from aichat.core.models import SessionType
from aichat.core.pricing import price_problem


def _a_known_provider(name: str) -> str:
    # Read at validation time, not fixed as a Literal: a provider is known by its catalog entry alone.
    if name not in catalog.PROVIDERS:
        raise PydanticCustomError("unknown_provider", "unknown provider '{name}'; use {known}",
                                  {"name": name, "known": ", ".join(catalog.PROVIDERS)})
    return name


ProviderName = Annotated[str, AfterValidator(_a_known_provider)]
# The built-in tools a model may call (aichat.tools holds them; a test checks the two agree).
ToolName = Literal["create_ticket", "escalate_to_human"]

_JSON_FIELDS = ("SYSTEM_PROMPTS", "PRICES", "LLM_MODELS_BY_SESSION_TYPE", "TOOLS_BY_SESSION_TYPE", "CUSTOM_TOOLS")

DEFAULT_TOOLS_BY_SESSION_TYPE: dict[SessionType, tuple[ToolName, ...]] = {
    "customer_support": ("create_ticket", "escalate_to_human"),
    "network_diagnostics": ("create_ticket", "escalate_to_human"),
    "admin_assistant": ("create_ticket",),
    "analytics": (),
}


class ModelChoice(BaseModel):
    """A provider and, optionally, its model (the provider's default model when left out)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName
    model: str | None = None


# A custom tool's target: a Lambda function's ARN (a version or alias may follow), or a callable in the layer.
_LAMBDA_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]{1,64}"
                         r"(:[a-zA-Z0-9$_-]{1,128})?")
_PYTHON_CALLABLE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


class CustomToolSetting(BaseModel):
    """One tool of CUSTOM_TOOLS: offered where TOOLS_BY_SESSION_TYPE names it, run by its target (aichat.tools)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: Annotated[str, Field(min_length=1, max_length=1024)]
    # A JSON Schema of type object; checked against its metaschema where tools run (the chat function), since
    # jsonschema is imported there only.
    parameters: dict[str, Any]
    target: str
    timeout_seconds: Annotated[float, Field(gt=0, le=25)] = 10

    @field_validator("name")
    @classmethod
    def _not_a_built_in(cls, value: str) -> str:
        if value in get_args(ToolName):
            raise PydanticCustomError("built_in_tool", "'{name}' is a built-in tool's name; choose another",
                                      {"name": value})
        return value

    @field_validator("parameters")
    @classmethod
    def _an_object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise PydanticCustomError("not_an_object_schema", 'must be a JSON Schema of "type": "object"')
        if not isinstance(value.get("properties", {}), Mapping):
            raise PydanticCustomError("not_an_object_schema", "properties must be an object")
        required = value.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise PydanticCustomError("not_an_object_schema", "required must be a list of property names")
        return value

    @field_validator("target")
    @classmethod
    def _a_lambda_arn_or_a_callable(cls, value: str) -> str:
        if not (_LAMBDA_ARN.fullmatch(value) or _PYTHON_CALLABLE.fullmatch(value)):
            raise PydanticCustomError(
                "unknown_target", "must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>) "
                "or a Python callable (module:function)")
        return value

    @property
    def is_lambda(self) -> bool:
        """Whether the target is a Lambda function (else a Python callable)."""
        return self.target.startswith("arn:")


class Settings(BaseModel):
    """Every setting the product reads, with the guide's defaults; field names are the variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TABLE_NAME: str = "ai-chat"
    DYNAMODB_ENDPOINT_URL: str | None = None
    # The DynamoDB client's own credentials, for a local stand-in (DynamoDB Local keeps one file per access key): the
    # other clients (Bedrock above all) keep the process's. Unset: the process's credentials for every client.
    DYNAMODB_ACCESS_KEY_ID: str | None = Field(default=None, repr=False)
    DYNAMODB_SECRET_ACCESS_KEY: str | None = Field(default=None, repr=False)
    AWS_REGION: str = "us-east-1"
    ESCALATION_TOPIC_ARN: str | None = None
    # The product's domain events (notify/domain_events.py): the EventBridge bus they go to, and an endpoint other than
    # AWS's (a test's stand-in). EVENTS_ENABLED false logs each event instead of sending it (the local server's way).
    EVENT_BUS_NAME: Annotated[str, Field(min_length=1)] = "default"
    EVENTS_ENDPOINT_URL: str | None = None
    EVENTS_ENABLED: bool = True
    # Off: no event's detail carries message text (none does yet; CustomerMessaged, the handoff's event, will).
    EVENTS_INCLUDE_MESSAGE_TEXT: bool = False

    LLM_PROVIDER: ProviderName | None = None
    LLM_MODEL: str | None = None
    # {"analytics": {"provider": "anthropic", "model": "claude-sonnet-4-6"}}: a new session of that type uses it.
    LLM_MODELS_BY_SESSION_TYPE: dict[str, ModelChoice] = Field(default_factory=dict)
    # Tried when the session's provider times out, is still rate limited after retries, or fails with a 5xx.
    LLM_FALLBACK_PROVIDER: ProviderName | None = None
    LLM_FALLBACK_MODEL: str | None = None
    # API Gateway's HTTP API answers the client after 30 s: every attempt, wait and fallback fits in the deadline.
    LLM_TIMEOUT_SECONDS: Annotated[float, Field(gt=0, le=25)] = 12
    LLM_MAX_RETRIES: Annotated[int, Field(ge=0, le=5)] = 2
    LLM_DEADLINE_SECONDS: Annotated[float, Field(gt=0, le=25)] = 22
    # POST /chat/stream answers as it goes, so no gateway cuts it at 30 s: its whole turn (every model call, tools,
    # retries) has this long, bounded by the streaming function's timeout (900 s at most, with room to settle).
    STREAM_DEADLINE_SECONDS: Annotated[float, Field(gt=0, le=840)] = 120
    # How often a stream reads its session's stop flag (POST /sessions/{id}/stop writes it, from another function).
    STOP_CHECK_SECONDS: Annotated[float, Field(ge=0.05, le=10)] = 1.0
    # The origin the widget is served from, for the stream's CORS header: a REST API's proxy integration adds none
    # itself (the HTTP API's CorsConfiguration covers the other routes). Unset: no header.
    STREAM_ALLOWED_ORIGIN: str | None = None
    # The offline model streams word by word; a pause per word shows a reply growing (demos, browser tests).
    OFFLINE_STREAM_PAUSE_SECONDS: Annotated[float, Field(ge=0, le=5)] = 0.0

    # A key comes from the variable itself, or from a Secrets Manager secret or an SSM SecureString by name.
    OPENAI_API_KEY: str | None = Field(default=None, repr=False)
    OPENAI_API_KEY_SECRET: str | None = None
    OPENAI_API_KEY_PARAMETER: str | None = None
    ANTHROPIC_API_KEY: str | None = Field(default=None, repr=False)
    ANTHROPIC_API_KEY_SECRET: str | None = None
    ANTHROPIC_API_KEY_PARAMETER: str | None = None
    # Any OpenAI-compatible server (Azure OpenAI, vLLM, Ollama, a gateway), or an Anthropic-compatible one.
    OPENAI_BASE_URL: str | None = None
    ANTHROPIC_BASE_URL: str | None = None
    # Amazon Bedrock (no key: the function's AWS credentials and IAM): the region its models are called in (unset:
    # AWS_REGION) and an optional guardrail every Converse call passes (its version: a number, or DRAFT when unset).
    # BEDROCK_ENDPOINT_URL, its catalog base URL setting, points it at a stand-in (PROVIDER_SETTINGS).
    BEDROCK_REGION: str | None = None
    BEDROCK_GUARDRAIL_ID: str | None = None
    BEDROCK_GUARDRAIL_VERSION: str | None = None
    # The key and base URL settings of a catalog provider without fields of its own above (those keep theirs, as the
    # deployed and documented names): filled from the variables its entry names, read through setting().
    PROVIDER_SETTINGS: dict[str, str] = Field(default_factory=dict, repr=False)
    # OpenAI's current models take max_completion_tokens; some compatible servers (Ollama) only read max_tokens.
    OPENAI_MAX_TOKENS_PARAMETER: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"

    # How long a repeat under the same Idempotency-Key (POST /chat or its stream) gets the first answer back: the
    # life of the key's claim in the ledger (TURNKEY#).
    IDEMPOTENCY_EXPIRY_SECONDS: Annotated[int, Field(ge=60, le=7 * 86_400)] = 3600

    DAILY_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] = Decimal(10000)
    USER_DAILY_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] | None = None
    SESSION_COST_LIMIT_CENTS: Annotated[Decimal, Field(ge=0)] = Decimal(100)
    MAX_MESSAGES_PER_SESSION: Annotated[int, Field(ge=1)] = 100
    MAX_SESSIONS_PER_USER_PER_DAY: Annotated[int, Field(ge=1)] = 50

    MAX_CONTEXT_MESSAGES: Annotated[int, Field(ge=0, le=100)] = 10
    # A turn of an existing session reserves while its history is read, one round trip before the model instead of
    # two, at the worst case of this many input tokens on the dearest configured route (the exact bound needs the
    # history); a turn whose exact bound is larger tops its reservation up first (docs/budgets.md). 0: read first.
    OVERLAP_RESERVE_INPUT_TOKENS: Annotated[int, Field(ge=0, le=2_000_000)] = 16_000
    # How many sessions' newest messages a container keeps after its own turns, so that a session's next turn in
    # the same container reserves with no read first (aichat/turn/context_cache.py). 0: every turn reads.
    CONTEXT_CACHE_SESSIONS: Annotated[int, Field(ge=0, le=100_000)] = 256
    MAX_TOKENS: Annotated[int, Field(ge=1, le=64000)] = 500
    # Blank: not sent, for models that refuse sampling settings (OpenAI's reasoning models, Claude Sonnet 5).
    TEMPERATURE: Annotated[float, Field(ge=0, le=2)] | None = 0.7

    TENANT_CLAIM: str = "tenant_id"
    ROLES_CLAIM: str = "roles"
    # The roles that make a caller staff: a person who answers the escalated sessions of their own tenant
    # (comma-separated in the environment: "support,admin").
    STAFF_ROLES: tuple[Annotated[str, Field(min_length=1)], ...] = ("support", "admin")
    # The claim a staff member's display name comes from, shown beside a person's reply.
    DISPLAY_NAME_CLAIM: Annotated[str, Field(min_length=1)] = "name"
    # The streaming route's Lambda authorizer (aichat/api/token_authorizer.py) checks tokens as the HTTP API's JWT
    # authorizer does, for the deployer's own identity provider: the issuer, which a token's iss must equal.
    JWT_ISSUER: str | None = None
    # The audience a token must name in aud (or, without aud, in client_id, as Cognito's access tokens do).
    JWT_AUDIENCE: str | None = None
    # Where the issuer publishes its signing keys; unset or blank: <JWT_ISSUER>/.well-known/jwks.json.
    JWKS_URL: str | None = None
    # How long the keys are kept before they are fetched again; a key id not among them refetches sooner (rotation).
    JWKS_CACHE_SECONDS: Annotated[int, Field(ge=60, le=86_400)] = 600
    RETENTION_DAYS: Annotated[int, Field(ge=1)] = 90
    TENANT_CONFIG_TTL_SECONDS: Annotated[int, Field(ge=0)] = 60
    # Sessions an erasure deletes per step (aichat/table/erasures.py); its state is saved after each step.
    ERASURE_SESSIONS_PER_STEP: Annotated[int, Field(ge=1, le=100)] = 25

    # JSON objects: {"customer_support": "You are ..."} and {"model": {"input": 0.15, "output": 0.6}}
    # (USD per million tokens); both merge over the built-in tables.
    SYSTEM_PROMPTS: dict[str, str] = Field(default_factory=dict)
    PRICES: dict[str, dict[str, Decimal]] = Field(default_factory=dict)

    # A JSON list of the deployment's own tools, [{"name", "description", "parameters", "target",
    # "timeout_seconds"}]; each is offered only where TOOLS_BY_SESSION_TYPE names it. Declared before that setting,
    # whose names are checked against these.
    CUSTOM_TOOLS: tuple[CustomToolSetting, ...] = ()
    # A Lambda-compatible endpoint for the custom tools' functions (a test's stand-in); unset: AWS's.
    LAMBDA_ENDPOINT_URL: str | None = None
    # A JSON object, session type -> the tools its model may call: {"analytics": ["create_ticket"]}; a session type
    # left out keeps its default (DEFAULT_TOOLS_BY_SESSION_TYPE), and [] offers none.
    TOOLS_BY_SESSION_TYPE: dict[SessionType, tuple[str, ...]] = Field(
        default_factory=lambda: dict[SessionType, tuple[str, ...]](DEFAULT_TOOLS_BY_SESSION_TYPE))
    # Model calls in one chat turn: the first, and one more after each round of tool calls the model asks for.
    MAX_TOOL_STEPS: Annotated[int, Field(ge=1, le=8)] = 4
    # Tool calls a turn runs: of one model call's (a model may ask for dozens at once), and in all. Every call may
    # act (a ticket, an event, a Lambda invocation), so a call past either is refused to the model, nothing run.
    MAX_TOOL_CALLS_PER_STEP: Annotated[int, Field(ge=1, le=32)] = 8
    MAX_TOOL_CALLS_PER_TURN: Annotated[int, Field(ge=1, le=100)] = 20

    @field_validator("USER_DAILY_COST_LIMIT_CENTS", "LLM_PROVIDER", "LLM_MODEL", "DYNAMODB_ENDPOINT_URL",
                     "ESCALATION_TOPIC_ARN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLM_FALLBACK_PROVIDER",
                     "LLM_FALLBACK_MODEL", "OPENAI_API_KEY_SECRET", "OPENAI_API_KEY_PARAMETER",
                     "ANTHROPIC_API_KEY_SECRET", "ANTHROPIC_API_KEY_PARAMETER", "OPENAI_BASE_URL",
                     "ANTHROPIC_BASE_URL", "TEMPERATURE", "EVENTS_ENDPOINT_URL", "LAMBDA_ENDPOINT_URL",
                     "BEDROCK_REGION", "BEDROCK_GUARDRAIL_ID", "BEDROCK_GUARDRAIL_VERSION", "DYNAMODB_ACCESS_KEY_ID",
                     "DYNAMODB_SECRET_ACCESS_KEY", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # CloudFormation parameters cannot be null, so an empty string means "not set".
        return None if value == "" else value

    @model_validator(mode="before")
    @classmethod
    def _catalog_variables_without_fields(cls, data: Any) -> Any:
        # A provider added by its catalog entry alone has no field here: its variables are kept aside, blank unset.
        if not isinstance(data, Mapping):
            return data
        extra = {name: str(data[name]) for name in catalog.variables()
                 if name not in cls.model_fields and data.get(name) not in (None, "")}
        if not extra:
            return data
        return {**data, "PROVIDER_SETTINGS": {**data.get("PROVIDER_SETTINGS", {}), **extra}}

    @field_validator("STAFF_ROLES", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(role.strip() for role in value.split(",") if role.strip())
        return value

    @field_validator("PRICES", mode="before")
    @classmethod
    def _prices_are_finite_and_not_negative(cls, value: Any) -> Any:
        # A negative price lowers the day's spend on every chat (and NaN or infinity defeats every limit), so it
        # stops the function at start, named, like any bad setting; pydantic checks the types after this.
        if isinstance(value, Mapping):
            for model, price in value.items():
                problem = price_problem(str(model), price) if isinstance(price, Mapping) else None
                if problem:
                    raise PydanticCustomError("invalid_price", "{problem}", {"problem": problem})
        return value

    @field_validator("CUSTOM_TOOLS")
    @classmethod
    def _custom_tool_names_are_unique(cls, value: tuple[CustomToolSetting, ...]) -> tuple[CustomToolSetting, ...]:
        first: dict[str, int] = {}
        for i, tool in enumerate(value):
            if tool.name in first:
                raise PydanticCustomError("repeated_tool", "CUSTOM_TOOLS[{i}].name: '{name}' is CUSTOM_TOOLS[{j}]'s "
                                          "name too", {"i": i, "name": tool.name, "j": first[tool.name]})
            first[tool.name] = i
        return value

    @field_validator("TOOLS_BY_SESSION_TYPE", mode="before")
    @classmethod
    def _tools_are_known_and_merge_over_the_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        # Named here, with the bad name, rather than as pydantic's "Input should be ..." at a list index.
        if not isinstance(value, Mapping):
            return value
        # A built-in's name, or one of CUSTOM_TOOLS; when CUSTOM_TOOLS itself failed (and is reported on its own),
        # its names are not known, so none is called unknown.
        custom = info.data.get("CUSTOM_TOOLS")
        session_types = get_args(SessionType)
        tools: tuple[str, ...] = (*get_args(ToolName), *(tool.name for tool in custom or ()))
        for session_type, names in value.items():
            if session_type not in session_types:
                raise PydanticCustomError("unknown_session_type", "unknown session type '{name}'; use {known}",
                                          {"name": session_type, "known": ", ".join(session_types)})
            if not isinstance(names, list | tuple):
                raise PydanticCustomError("not_a_list", "{name} must be a list of tool names", {"name": session_type})
            for name in names:
                if name not in tools and custom is not None:
                    raise PydanticCustomError(
                        "unknown_tool", "unknown tool '{name}' for {session_type}; use {known}",
                        {"name": name, "session_type": session_type, "known": ", ".join(tools)})
            if len(set(names)) != len(names):
                raise PydanticCustomError("repeated_tool", "{name} names a tool more than once",
                                          {"name": session_type})
        return {**DEFAULT_TOOLS_BY_SESSION_TYPE, **value}

    @field_validator("MAX_TOOL_CALLS_PER_TURN")
    @classmethod
    def _a_turn_runs_at_least_a_steps_calls(cls, value: int, info: ValidationInfo) -> int:
        per_step = info.data.get("MAX_TOOL_CALLS_PER_STEP")
        if per_step is not None and value < per_step:
            raise PydanticCustomError("cap_below_step_cap", "must be at least MAX_TOOL_CALLS_PER_STEP ({per_step})",
                                      {"per_step": per_step})
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Validate settings from an environment mapping; a bad value raises ConfigurationError naming it."""
        names = (*cls.model_fields, *catalog.variables())
        values: dict[str, Any] = {name: environ[name] for name in names if name in environ}
        for name in _JSON_FIELDS:
            if values.get(name):
                try:
                    values[name] = json.loads(values[name])
                except json.JSONDecodeError as e:
                    kind = "list" if name == "CUSTOM_TOOLS" else "object"
                    raise ConfigurationError(f"{name} must be a JSON {kind}: {e.msg}") from e
            else:
                values.pop(name, None)
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in e.errors())
            raise ConfigurationError(f"invalid settings: {problems}") from e

    def dynamodb_credentials(self) -> tuple[str, str] | None:
        """The DynamoDB client's own access key and secret, when both are set; None: the process's credentials."""
        if self.DYNAMODB_ACCESS_KEY_ID and self.DYNAMODB_SECRET_ACCESS_KEY:
            return self.DYNAMODB_ACCESS_KEY_ID, self.DYNAMODB_SECRET_ACCESS_KEY
        return None

    def setting(self, name: str) -> str | None:
        """A provider's setting by its variable name: its field, else what PROVIDER_SETTINGS holds; None if unset."""
        value = getattr(self, name) if name in type(self).model_fields else self.PROVIDER_SETTINGS.get(name)
        return None if value is None else str(value)

    @property
    def provider(self) -> str:
        """The default provider: the one named, else the first with a key, else offline."""
        if self.LLM_PROVIDER:
            return self.LLM_PROVIDER
        for name in catalog.by_preference():
            if any(self.setting(variable) for variable in catalog.PROVIDERS[name].key_settings()):
                return name
        return "offline"


def _where(loc: tuple[int | str, ...]) -> str:
    """A pydantic error's location as the setting's own notation: CUSTOM_TOOLS[1].name."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


@cache
def load_settings() -> Settings:
    """The process's settings, read from os.environ on first use only."""
    return Settings.from_environ(os.environ)
