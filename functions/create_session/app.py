"""POST /api/v1/ai/sessions: start a session for the caller."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring
from aichat.models import CreateSessionRequest

app = http_api.build_resolver()
services = wiring.services()


@app.post("/api/v1/ai/sessions")
def create_session() -> Response:
    caller = http_api.caller(app, services.settings)
    session = services.sessions.create(caller, http_api.body(app, CreateSessionRequest))
    return http_api.json_response(session, status=201)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
