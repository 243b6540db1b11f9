"""The local server's own pages, which API Gateway does not have: the demo page at / and the widget's demo build
under /widget/. Each is read from disk on every request, so a rebuilt widget needs no restart."""

from __future__ import annotations

from localdev.gateway import HttpResponse, json_response
from localdev.paths import DEMO_PAGE, WIDGET_DEMO

WIDGET_TYPES = {".js": "text/javascript; charset=utf-8", ".map": "application/json"}


def page(method: str, raw_path: str) -> HttpResponse | None:
    """The page at `raw_path`, or None when it is not one of these pages."""
    if method not in ("GET", "HEAD"):
        return None
    if raw_path in ("/", "/index.html"):
        return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], DEMO_PAGE.read_bytes())
    if raw_path.startswith("/widget/"):
        return widget_file(raw_path.removeprefix("/widget/"))
    return None


def widget_file(name: str) -> HttpResponse:
    """A file of the widget's demo build, by bare name only (nothing outside widget/dist/demo is reachable)."""
    path = WIDGET_DEMO / name
    if "/" in name or "\\" in name or name.startswith(".") or path.suffix not in WIDGET_TYPES or not path.is_file():
        return json_response(404, {"detail": f"No widget file {name!r}; build the widget with `make widget-build`.",
                                   "code": "asset_not_found"})
    return HttpResponse(200, [("content-type", WIDGET_TYPES[path.suffix]), ("cache-control", "no-cache")],
                        path.read_bytes())
