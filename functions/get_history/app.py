"""GET /api/v1/ai/sessions/{session_id}/history: a page of the session's messages, oldest first."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring

app = http_api.build_resolver()
services = wiring.services()


@app.get("/api/v1/ai/sessions/<session_id>/history")
def get_history(session_id: str) -> Response:
    caller = http_api.caller(app, services.settings)
    limit = http_api.query_int(app, "limit", default=50, low=1, high=100)
    history = services.sessions.history(caller, session_id, limit, http_api.query_str(app, "cursor"))
    return http_api.json_response(history)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
