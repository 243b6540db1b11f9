"""aichat.core.aws: the layer's clients are made for the services the built layer keeps botocore's data for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aichat.core.aws import SERVICES, aws_client
from aichat.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_client_of_a_service_the_layer_does_not_keep_is_refused_with_where_to_add_it() -> None:
    with pytest.raises(ValueError, match=r"'s3' is not in aichat.core.aws.SERVICES; add it there"):
        aws_client("s3", Settings(TABLE_NAME="t"))


def test_every_service_the_code_names_for_a_client_is_one_the_layer_keeps() -> None:
    named: set[str] = set()
    for source in [*(ROOT / "layers" / "common" / "python").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        named |= set(re.findall(r"aws_client\(\s*\"([a-z0-9-]+)\"", source.read_text(encoding="utf-8")))
    # ssm and secretsmanager are named through credentials.py's injected aws_client; bedrock-runtime and lambda
    # directly, like the table's and the notifiers' clients.
    assert {"dynamodb", "sns", "events", "lambda", "bedrock-runtime", "ssm", "secretsmanager"} <= named
    assert named <= SERVICES


def test_a_client_of_each_kept_service_is_made() -> None:
    settings = Settings(TABLE_NAME="t", AWS_REGION="eu-west-1")
    for service in sorted(SERVICES):
        assert aws_client(service, settings).meta.service_model.service_name == service
