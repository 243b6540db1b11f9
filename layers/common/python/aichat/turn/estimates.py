"""What a model call may cost before its usage is known: the worst case a call reserves, and the upper bound a
streamed call that was stopped or cut is charged (`estimated`), never above its reservation."""

from __future__ import annotations

from aichat.core.errors import ConfigurationError, ModelNotPriced
from aichat.core.pricing import PriceTable, Usage
from aichat.providers.interface import Completion, CompletionRequest
from aichat.turn.model_context import PreparedTurn
from aichat.turn.progress import Answer, Heard


def estimated(prices: PriceTable, heard: Heard, turn: PreparedTurn, request: CompletionRequest) -> Answer:
    """A streamed call that ended without the provider's usage, charged at most what it can have used: every
    input token the request can hold, and an output token per byte received, text and tool-call arguments (up
    to max_tokens)."""
    route = heard.route or turn.routes[0]
    usage = Usage(input_tokens=request.input_token_bound(),
                  output_tokens=min(heard.output_bytes, request.max_tokens))
    cost = prices.worst_case_micros(route.model, usage.input_tokens, usage.output_tokens)
    completion = Completion(text=heard.text, usage=usage, model=route.model, provider=route.provider,
                            stop_reason="stopped")
    return Answer(route, completion, cost, estimated=True)


def worst_case(prices: PriceTable, turn: PreparedTurn, request: CompletionRequest) -> int:
    """The most the next call can cost; the fallback may answer instead, so the dearer of the two."""
    try:
        return max(prices.worst_case_micros(route.model, request.input_token_bound(), request.max_tokens)
                   for route in turn.routes)
    except ConfigurationError as e:
        # Checked at start for the models configured now; an older session may name one that lost its price.
        raise ModelNotPriced(
            f"This session's model has no price, so no reply can be budgeted. An administrator must {e}; until "
            "then, start a new session.") from None


def size(piece: str) -> int:
    """A piece's UTF-8 bytes as the provider sent them, a half of a character counted as the three it would take."""
    return len(piece.encode("utf-8", "surrogatepass"))
