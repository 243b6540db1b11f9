"""A custom tool run by a Python callable on the layer's path (`module:function`), imported on its first call."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

Function = Callable[[dict[str, Any], dict[str, str]], Any]


class PythonTarget:
    """Calls `function(arguments, context)`, context being {tenant_id, user_id, session_id}; its result is the
    tool's (a JSON object of at most 16 KB, which the registry checks)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._function: Function | None = None
        self._lock = threading.Lock()

    def __call__(self, arguments: dict[str, Any], context: dict[str, str]) -> Any:
        return self._resolved()(arguments, context)

    def _resolved(self) -> Function:
        # Imported on first use, not at start: a tool that is never called costs the cold start nothing. A module
        # that fails to import fails this call (logged by the registry) and is tried again on the next.
        with self._lock:
            if self._function is None:
                module, name = self.path.split(":", 1)
                function = getattr(importlib.import_module(module), name)
                if not callable(function):
                    raise TypeError(f"{self.path} is not callable")
                self._function = function
            return self._function
