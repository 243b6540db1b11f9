#!/bin/bash
# The streaming function's start-up command: the Lambda Web Adapter (a layer; AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# runs this as the handler, waits until GET $AWS_LWA_READINESS_CHECK_PATH answers, then forwards each invocation to
# the app over loopback HTTP, streaming the response back (AWS_LWA_INVOKE_MODE=response_stream).
export PATH="$PATH:$LAMBDA_TASK_ROOT/bin"
export PYTHONPATH="$PYTHONPATH:/opt/python:$LAMBDA_RUNTIME_DIR"
exec python -m uvicorn --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}" --no-access-log --no-server-header \
  --timeout-graceful-shutdown 5 app:app
