"""What importing a function's app.py in a fresh interpreter loads, as Lambda's cold start would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "common" / "python"
# Settings from the developer's own shell that would change what a function loads at init.
_LOADING_SETTINGS = ("LLM_", "OPENAI", "ANTHROPIC", "CUSTOM_TOOLS", "TOOLS_BY_SESSION_TYPE")
# The functions that call a model: POST /chat and its streaming twin.
MODEL_FUNCTIONS = ("chat", "chat_stream")
# Every other function: none of them calls a model, so none may load what only a model call needs.
NON_MODEL_FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir()
                             if (p / "app.py").is_file() and p.name not in MODEL_FUNCTIONS)


def loaded_after_import(function: str, watched: tuple[str, ...], **environment: str) -> list[str]:
    """Which of the watched modules are in sys.modules after importing functions/<function>/app.py afresh, with
    `environment` on top of a neutral one (no provider keys, no custom tools)."""
    code = f"import json, sys; import app; print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    folder = ROOT / "functions" / function
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LOADING_SETTINGS)}
    env.update(PYTHONPATH=os.pathsep.join([str(folder), str(LAYER)]), TABLE_NAME="ai-chat",
               AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", **environment)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=folder)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded
