"""POST /api/v1/ai/sessions/{session_id}/escalate: hand the session to a person and notify support."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring
from aichat.models import EscalateRequest

app = http_api.build_resolver()
services = wiring.services()


@app.post("/api/v1/ai/sessions/<session_id>/escalate")
def escalate(session_id: str) -> Response:
    caller = http_api.caller(app, services.settings)
    session = services.sessions.escalate(caller, session_id, http_api.body(app, EscalateRequest))
    return http_api.json_response(session)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
