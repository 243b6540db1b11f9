"""Where the local server finds things in the repository: the template, the layer, the pages, its data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# The common layer's code, which Lambda puts on sys.path (/opt/python) for every function.
LAYER = ROOT / "layers" / "common" / "python"
# Where DynamoDB Local keeps its data between runs (unless --in-memory).
DATA_DIR = ROOT / ".local" / "dynamodb"
DEMO_PAGE = Path(__file__).resolve().parent / "demo.html"
# The widget's browser bundle (React included), built by `make widget-build`; the demo page loads it from /widget/.
WIDGET_DEMO = ROOT / "widget" / "dist" / "demo"
