"""AWS clients, made one way for every function: botocore alone, one session per process, standard retries."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aichat.core.settings import Settings


# The AWS services the layer makes clients for. The built layer carries botocore's data for these alone
# (scripts/trim_botocore.py): botocore lists and parses less at the first client, a cold start's largest part.
SERVICES = frozenset({"dynamodb", "events", "sns", "ssm", "secretsmanager", "lambda", "bedrock-runtime"})


def aws_client(service: str, settings: Settings, endpoint_url: str | None = None, *, max_attempts: int = 4,
               connect_timeout: float = 2, read_timeout: float = 5, region: str | None = None,
               credentials: tuple[str, str] | None = None) -> Any:
    """A botocore client: botocore alone imports faster than boto3, and that is every cold start. `credentials`
    (access key, secret) are this client's alone; None: the process's."""
    if service not in SERVICES:
        # Here, not in Lambda: the layer there would have no model of this service to build the client from.
        raise ValueError(f"aws_client: '{service}' is not in aichat.core.aws.SERVICES; add it there, so the built "
                         "layer keeps botocore's model of it")
    from botocore.config import Config

    # parameter_validation off: every request is built by this code and the service validates it again anyway, so the
    # client-side walk of each request against the service model is time on every call for nothing (0.35 ms of a
    # streamed turn's three DynamoDB calls, timed with botocore's ParamValidator). Tests' own clients keep it on.
    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=connect_timeout,
                    read_timeout=read_timeout, max_pool_connections=64, parameter_validation=False)
    with _session_lock:  # a botocore session is not safe to create clients from in several threads at once
        return _botocore_session().create_client(
            service, region_name=region or settings.AWS_REGION, endpoint_url=endpoint_url, config=config,
            **({"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]} if credentials else {})
        )


_session_lock = threading.Lock()


@cache
def _botocore_session() -> Any:
    """One botocore session per process: it loads each service's model and endpoints once for all its clients."""
    import botocore.session

    return botocore.session.get_session()
