"""POST /api/v1/ai/sessions/{session_id}/feedback: rate a session; it stays open."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring
from aichat.models import FeedbackRequest

app = http_api.build_resolver()
services = wiring.services()


@app.post("/api/v1/ai/sessions/<session_id>/feedback")
def submit_feedback(session_id: str) -> Response:
    caller = http_api.caller(app, services.settings)
    session = services.sessions.feedback(caller, session_id, http_api.body(app, FeedbackRequest))
    return http_api.json_response(session)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
