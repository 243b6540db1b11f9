"""schemathesis against the running server, with a valid admin token: whatever it sends, valid or not, no 5xx, no
traceback in any body, and every answer as the OpenAPI document describes it.

The document is aichat.api.openapi's, built here rather than fetched: schemathesis's lazy loader (from a fixture) does
not run on pytest 9, and test_docs checks that the server's /openapi.json is exactly this document.

The examples are derandomized, so CI sees the same requests each run; FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 explores more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance, unsupported_method

from aichat.api.openapi import build_spec
from contract.local_api import Client

pytestmark = pytest.mark.dynamodb_local

SPEC = build_spec()
schema = schemathesis.openapi.from_dict(SPEC)

# Checks that contradict the API by design: API Gateway answers a method without a route 404 (not 405); a
# well-formed id or cursor that names nothing is 404 or 422 (ids and cursors are opaque, so no schema can say which
# exist); and unknown query parameters and headers are ignored, as API Gateway passes them on. The rule that
# matters from the last one, a forbidden body is refused, is checked below on its own.
NOT_THIS_API = [unsupported_method, positive_data_acceptance, negative_data_rejection]


def forbidden_body(case: schemathesis.Case) -> bool:
    """Whether the case sends a body its operation's schema forbids."""
    operation = case.operation.method.lower()
    request = SPEC["paths"][case.operation.path][operation].get("requestBody")
    if request is None or case.body is NOT_SET or case.method.lower() != operation:
        return False
    body_schema: dict[str, Any] = {**request["content"]["application/json"]["schema"],
                                   "components": SPEC["components"]}
    return not Draft202012Validator(body_schema).is_valid(case.body)


@schema.parametrize()
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")), derandomize=not os.environ.get("FUZZ_RANDOM"),
          deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_5xx_or_a_traceback(case: schemathesis.Case, client: Client) -> None:
    token = client.token("fuzzer", "fuzz-tenant", admin=True)
    response = case.call_and_validate(base_url=client.server.url, headers={"Authorization": f"Bearer {token}"},
                                      excluded_checks=NOT_THIS_API)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if forbidden_body(case):
        assert 400 <= response.status_code < 500, f"a forbidden body was accepted: {case.body!r}"
