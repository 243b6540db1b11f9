"""GET /api/v1/ai/sessions/my: the caller's sessions, newest first; the next page's cursor in X-Next-Cursor."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from aichat import http_api, wiring

app = http_api.build_resolver()
services = wiring.services()


@app.get("/api/v1/ai/sessions/my")
def list_sessions() -> Response:
    caller = http_api.caller(app, services.settings)
    limit = http_api.query_int(app, "limit", default=20, low=1, high=100)
    sessions, next_cursor = services.sessions.mine(caller, limit, http_api.query_str(app, "cursor"))
    return http_api.json_response(sessions, headers={"X-Next-Cursor": next_cursor} if next_cursor else None)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
