"""Amazon Bedrock through the `bedrock-runtime` Converse API (`converse`, `converse_stream`), with botocore's client.

No key: the function's own AWS credentials sign each call, and IAM decides which models it may call. botocore is
in every function already (the table's client); this module is imported on first use only, like the other adapters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import botocore.eventstream
import botocore.exceptions
import botocore.parsers
import urllib3.exceptions

from aichat.core.errors import ProviderError, ProviderNotConfigured
from aichat.core.logs import logger
from aichat.core.metrics import provider_access_denied
from aichat.core.pricing import Usage
from aichat.providers.faults import (
    failed_mid_stream,
    incomplete,
    malformed,
    status_error,
    timed_out,
    unreachable,
)
from aichat.providers.interface import (
    Completion,
    CompletionRequest,
    ProviderStream,
    StreamPart,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Turn,
    people_note,
)
from aichat.providers.tool_use import StreamedCall, fitting_id, tool_call

# How this API's own tool-call ids begin: an id from another provider that does not fit is mapped to one.
_ID_PREFIX = "tooluse_"

if TYPE_CHECKING:
    from aichat.core.settings import Settings

# The IAM action an AccessDeniedException names ("... is not authorized to perform: bedrock:InvokeModel on ...").
_DENIED_ACTION = re.compile(r"perform:\s*([a-zA-Z0-9-]+:[A-Za-z0-9*]+)")

# The errors Bedrock answers with, by the exception's name (x-amzn-errortype, or a stream's exception event, whose
# names start lower-case), that mean "try again": a throttled account, a model still loading, a service or model
# failure. The rest map by their HTTP status, as every provider's do (faults.status_error).
_TRANSIENT = frozenset({"throttlingexception", "servicequotaexceededexception", "modelnotreadyexception",
                        "serviceunavailableexception", "internalserverexception", "modelerrorexception",
                        "modeltimeoutexception", "modelstreamerrorexception"})
# A stream's own exception events (ConverseStreamOutput's error members): the model failed after the stream began.
_MID_STREAM = frozenset({"modelstreamerrorexception", "internalserverexception", "serviceunavailableexception",
                         "throttlingexception"})
_DENIED = frozenset({"accessdeniedexception", "unrecognizedclientexception", "invalidsignatureexception",
                     "expiredtokenexception", "invalidclienttokenid", "missingauthenticationtokenexception"})


class BedrockProvider:
    """Converse with the system prompt in `system`; usage (cache reads and writes too) from Bedrock's own counts."""

    name = "bedrock"

    def __init__(self, client: Any, *, guardrail: Mapping[str, str] | None = None) -> None:
        # `client` is botocore's bedrock-runtime client, made once per container with its own retries off
        # (build): failover is the one retry loop.
        self._client = client
        self._guardrail = dict(guardrail) if guardrail else None

    def complete(self, request: CompletionRequest) -> Completion:
        """One Converse call, or ProviderError / ProviderTimeout / ProviderNotConfigured."""
        with bedrock_faults(request.model):
            response = self._client.converse(**self._arguments(request))
        return _completion(response, request)

    def stream(self, request: CompletionRequest) -> ProviderStream:
        """The reply as ConverseStream writes it: text and argument pieces, then the Completion (Provider.stream)."""
        return ProviderStream(partial(self._stream, request))

    def _stream(self, request: CompletionRequest, line: ProviderStream) -> Generator[StreamPart, None, None]:
        reply = _StreamedReply(request.model)
        with bedrock_faults(request.model):
            events = self._client.converse_stream(**self._arguments(request))["stream"]
            # botocore's EventStream reads urllib3's response: `line` shuts its socket down when another thread hangs
            # up; closing it closes the HTTP stream when the caller stops early or anything fails.
            try:
                with line.reading(getattr(events, "_raw_stream", None)):
                    for event in events:
                        yield from reply.add(event)
            finally:
                events.close()
        yield reply.completion()

    def _arguments(self, request: CompletionRequest) -> dict[str, Any]:
        """The Converse arguments a request becomes, streamed or not."""
        # The Converse API has no system message among the turns: a person's replies are framed on the user's side,
        # and the system prompt, which only the caller writes, lists them by id (as for Anthropic).
        note = people_note(request.messages)
        system = f"{request.system}\n\n{note}" if note else request.system
        config: dict[str, Any] = {"maxTokens": request.max_tokens}
        if request.temperature is not None and not _claude(request.model):
            # Claude gets none, as from the Anthropic provider: current Claude models refuse sampling settings.
            config["temperature"] = request.temperature
        arguments: dict[str, Any] = {"modelId": request.model, "messages": _messages(request.messages),
                                     "inferenceConfig": config}
        if system.strip():
            arguments["system"] = [{"text": system}]
        if request.tools:
            arguments["toolConfig"] = {"tools": [_tool(spec) for spec in request.tools]}
        if self._guardrail:
            arguments["guardrailConfig"] = dict(self._guardrail)
        return arguments


def _claude(model: str) -> bool:
    """Whether a model id (or an inference profile's, `us.anthropic.…`) names an Anthropic Claude model."""
    return "anthropic." in model or model.startswith("anthropic")


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {"toolSpec": {"name": spec.name, "description": spec.description,
                         "inputSchema": {"json": dict(spec.parameters)}}}


def _messages(turns: tuple[Turn, ...]) -> list[dict[str, Any]]:
    """The turns as Converse messages, roles alternating and starting with the user's: a tool turn is a `user`
    message of toolResult blocks, an assistant turn that says nothing is left out, and consecutive messages of one
    role (tool results, then the user's next words) become one."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        role, blocks = _message(turn)
        if not blocks:
            # A reply stopped before its first token, or an empty answer: Converse refuses a blank text block, so
            # sending it would fail every later turn of the session.
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})
    return messages


def _message(turn: Turn) -> tuple[str, list[dict[str, Any]]]:
    if turn.role == "tool":
        return "user", [{"toolResult": {"toolUseId": fitting_id(result.call_id, _ID_PREFIX),
                                        "content": [{"text": result.content or "{}"}],
                                        "status": "error" if result.is_error else "success"}}
                        for result in turn.sent_results()]
    if turn.role == "assistant":
        text = [{"text": turn.text()}] if turn.content.strip() else []
        return "assistant", text + [{"toolUse": {"toolUseId": fitting_id(call.id, _ID_PREFIX), "name": call.name,
                                                 "input": _input(call.arguments)}} for call in turn.sent_calls()]
    # The user's words, and a person's reply in its frame (a block of its own on the user's side: the model writes
    # only the assistant's).
    return "user", [{"text": turn.text()}] if turn.content.strip() or turn.role == "agent" else []


def _input(arguments: str) -> dict[str, Any]:
    """The arguments a call was made with, as the object toolUse carries; {} when they are not a JSON object."""
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):  # nested past the parser's own limit: not an object we can send back
        return {}
    return value if isinstance(value, dict) else {}


def _usage(usage: Any) -> Usage:
    """Bedrock's TokenUsage as priced: inputTokens excludes the cached tokens, which it counts apart (each prompt
    token in exactly one of the three); input and output must have been reported."""
    try:
        counted = Usage(input_tokens=int(usage["inputTokens"]), output_tokens=int(usage["outputTokens"]),
                        cache_read_tokens=int(usage.get("cacheReadInputTokens") or 0),
                        cache_write_tokens=int(usage.get("cacheWriteInputTokens") or 0))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise malformed() from e
    if min(counted.input_tokens, counted.output_tokens, counted.cache_read_tokens, counted.cache_write_tokens) < 0:
        raise malformed()
    return counted


def _completion(response: Any, request: CompletionRequest) -> Completion:
    # parameter_validation is off and a stand-in may answer anything: check the shape here, a reply we cannot price
    # is no reply.
    try:
        blocks = response["output"]["message"]["content"]
        if not isinstance(blocks, list):
            raise malformed()
        text = "".join(block["text"] for block in blocks if "text" in block)
        calls = tuple(tool_call(block["toolUse"].get("toolUseId"), block["toolUse"].get("name"),
                            block["toolUse"].get("input")) for block in blocks if "toolUse" in block)
        usage = _usage(response["usage"])
        stop = response.get("stopReason")
    except (KeyError, TypeError, AttributeError) as e:
        raise malformed() from e
    if not isinstance(text, str):
        raise malformed()
    # Converse names no model in its answer: the model asked for is the one that answered.
    return Completion(text=text, usage=usage, model=request.model, provider="bedrock",
                      stop_reason=str(stop or "unknown"), tool_calls=calls)


@dataclass
class _StreamedReply:
    """A ConverseStream reply as its events arrive; `completion()` once the metadata event (the usage) came."""

    model: str
    texts: list[str] = field(default_factory=list)
    calls: dict[int, StreamedCall] = field(default_factory=dict)
    usage: Usage | None = None
    stop: str | None = None

    def add(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        """Take in one event (botocore's parse of a frame: {event type: its fields}); the parts it carries."""
        try:
            if "contentBlockDelta" in event:
                return self._delta(event["contentBlockDelta"])
            if "contentBlockStart" in event:
                started = event["contentBlockStart"]
                tool = started["start"].get("toolUse")
                if tool is not None:
                    self.calls[started["contentBlockIndex"]] = StreamedCall(tool.get("toolUseId"), tool.get("name"),
                                                                            index=len(self.calls))
            elif "messageStop" in event:
                self.stop = event["messageStop"].get("stopReason") or self.stop
            elif "metadata" in event:
                self.usage = _usage(event["metadata"]["usage"])
        except (KeyError, TypeError, AttributeError) as e:
            raise malformed() from e
        return []  # messageStart, contentBlockStop: nothing of the reply

    def _delta(self, event: Any) -> list[TextDelta | ToolCallDelta]:
        delta = event["delta"]
        if "toolUse" in delta:
            call = self.calls.get(event["contentBlockIndex"])
            piece = delta["toolUse"].get("input")
            if call is None or not isinstance(piece, str):
                raise malformed()
            call.pieces.append(piece)
            return [ToolCallDelta(call.index, piece)] if piece else []
        text = delta.get("text")
        if text is None:
            return []  # reasoning, citations: not reply text
        if not isinstance(text, str):
            raise malformed()
        if not text:
            return []
        self.texts.append(text)
        return [TextDelta(text)]

    def completion(self) -> Completion:
        """The whole reply; incomplete() when the stream ended before Bedrock's metadata event (its usage)."""
        if self.usage is None:
            raise incomplete()
        calls = tuple(call.call() for _, call in sorted(self.calls.items()))
        return Completion(text="".join(self.texts), usage=self.usage, model=self.model, provider="bedrock",
                          stop_reason=str(self.stop or "unknown"), tool_calls=calls)


@contextmanager
def bedrock_faults(model: str) -> Iterator[None]:
    """Turn botocore's errors (the service's, its transport's, and those of a stream it reads) into the project's
    own; an access denied is logged with the IAM action and model, counted, and told to the client only as not
    configured."""
    try:
        yield
    except botocore.exceptions.ClientError as e:  # EventStreamError (a stream's exception event) is one too
        raise _service_error(e, model) from None  # not chained: the message names the account's role
    except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError,
            urllib3.exceptions.TimeoutError) as e:
        raise timed_out() from e
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
            urllib3.exceptions.HTTPError) as e:
        raise unreachable() from e
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError) as e:
        raise _denied() from e
    except (botocore.eventstream.ParserError, botocore.parsers.ResponseParserError, ValueError) as e:
        raise malformed() from e


def _service_error(error: botocore.exceptions.ClientError, model: str) -> ProviderError | ProviderNotConfigured:
    """What an error Bedrock answered with means: by its name first, then by its HTTP status."""
    response = error.response or {}
    code = str(response.get("Error", {}).get("Code") or "")
    name = code.lower()
    meta = response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    if isinstance(error, botocore.exceptions.EventStreamError):
        # An exception event inside a stream that began well (its HTTP status was 200).
        if name in _MID_STREAM or name in _TRANSIENT:
            return failed_mid_stream()
        return malformed() if name != "validationexception" else status_error("bedrock", 400, {})
    if name in _DENIED or status in (401, 403):
        message = str(response.get("Error", {}).get("Message") or "")
        action = _DENIED_ACTION.search(message)
        logger().error("bedrock access denied", extra={"provider": "bedrock", "model": model, "error": code,
                                                       "iam_action": action.group(1) if action else None})
        provider_access_denied("bedrock", model)
        return _denied()
    headers = {k: v for k, v in (meta.get("HTTPHeaders") or {}).items() if isinstance(v, str)}
    if name in _TRANSIENT:
        # A throttled or loading model is a 429, the others 5xx: retried and fallen back from as every provider's.
        return status_error("bedrock", 429 if name in ("throttlingexception", "modelnotreadyexception",
                                                       "servicequotaexceededexception") else max(status, 500),
                            headers)
    return status_error("bedrock", status if status >= 400 else 400, headers)


def _denied() -> ProviderNotConfigured:
    """The 503 for a call IAM refused (or made without credentials): no internal name reaches the client."""
    return ProviderNotConfigured(
        "Amazon Bedrock refused this deployment's access to the model. An administrator must grant the chat "
        "functions access to it (the function's log names what was refused)."
    )


def build(settings: Settings, api_key: str | None, base_url: str | None) -> BedrockProvider:
    """The provider as its catalog entry builds it: one client per container, botocore's own retries off."""
    from aichat.core.aws import aws_client

    # max_attempts 0 (total_max_attempts 1): failover is the one retry loop. The read timeout is one attempt's
    # (LLM_TIMEOUT_SECONDS, never more than the deadline); failover bounds each call's wall-clock time to the turn's
    # deadline, however slowly Bedrock sends.
    client = aws_client("bedrock-runtime", settings, base_url, max_attempts=0, connect_timeout=2,
                        read_timeout=min(settings.LLM_TIMEOUT_SECONDS, settings.LLM_DEADLINE_SECONDS),
                        region=settings.BEDROCK_REGION or settings.AWS_REGION)
    guardrail = None
    if settings.BEDROCK_GUARDRAIL_ID:
        guardrail = {"guardrailIdentifier": settings.BEDROCK_GUARDRAIL_ID,
                     "guardrailVersion": settings.BEDROCK_GUARDRAIL_VERSION or "DRAFT"}
    return BedrockProvider(client, guardrail=guardrail)

