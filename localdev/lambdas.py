"""What Lambda does for a function, in this process: import its handler as Lambda imports it, and call it with a
Lambda context.

Each module is loaded once, as one warm container per function; functions that share a module share its handler.
The layer goes on sys.path (Lambda's /opt/python), and each function's code folder is first on it while its module
loads.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from localdev.paths import LAYER

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionConfig(Protocol):
    """What Lambda knows of a function: a GatewayRoute and a Schedule both carry it, from the template."""

    @property
    def function(self) -> str: ...
    @property
    def code_dir(self) -> Path: ...
    @property
    def handler(self) -> str: ...
    @property
    def timeout(self) -> int: ...
    @property
    def memory(self) -> int: ...


@dataclass
class LambdaContext:
    """The context object Lambda passes a handler."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def context_for(function: FunctionConfig) -> LambdaContext:
    """A fresh context for one invocation: its own request id, the template's Timeout and MemorySize."""
    return LambdaContext(function_name=function.function, memory_limit_in_mb=function.memory,
                         timeout_seconds=function.timeout)


def put_layer_on_path() -> None:
    """The common layer on sys.path, where Lambda puts a layer's python/ folder."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))


def load_handler(function: FunctionConfig) -> Handler:
    """The function's handler, from its own module as Lambda imports it: its code folder first on sys.path."""
    module_name, _, attribute = function.handler.rpartition(".")
    path = function.code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{function.code_dir.name}_{module_name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{function.function}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(function.code_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(function.code_dir))
    handler: Handler = getattr(module, attribute)
    return handler


class Functions:
    """The template's functions, each handler loaded once, by function name."""

    def __init__(self, functions: Iterable[FunctionConfig]) -> None:
        by_module: dict[tuple[Path, str], Handler] = {}
        self.handlers: dict[str, Handler] = {}
        for function in functions:
            key = (function.code_dir, function.handler)
            if key not in by_module:
                by_module[key] = load_handler(function)
            self.handlers[function.function] = by_module[key]

    def invoke(self, function: FunctionConfig, event: dict[str, Any]) -> Any:
        """Call the function's handler with `event` and a new Lambda context, as one invocation."""
        return self.handlers[function.function](event, context_for(function))
