"""POST /api/v1/ai/chat/stream: one chat turn, streamed as the AI SDK's UI message stream, within the caller's
budgets. An ASGI app (`app`): in AWS it runs under the Lambda Web Adapter in response-stream mode; `make dev`
serves the same app."""

from aichat import wiring
from aichat.api.stream_app import StreamApp
from aichat.core import logs

services = wiring.services()
# Init work (the chat service, its SDK imports) happens once per container, before the first request.
services.chat  # noqa: B018 - built now
services.preload_providers()
logs.logger()  # built now, not on the container's first line, so the SnapStart snapshot holds it

app = StreamApp(services)
