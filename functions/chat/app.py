"""POST /api/v1/ai/chat: one chat turn within the caller's budgets."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring
from aichat.models import ChatRequest

app = http_api.build_resolver()
services = wiring.services()


@app.post("/api/v1/ai/chat")
def chat() -> Response:
    caller = http_api.caller(app, services.settings)
    reply = services.chat.send(caller, http_api.body(app, ChatRequest))
    return http_api.json_response(reply)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
