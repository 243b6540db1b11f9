"""`make dev`: the whole product on http://127.0.0.1:3000, routed exactly as template.yaml routes it.

    python -m localdev [--port N] [--in-memory] [--moto] [--create-table] [--timing] [--quiet]

Each request becomes the payload-2.0 event API Gateway would send (JWT claims verified with LOCAL_JWT_SECRET and
handed over as strings, as the JWT authorizer does), and goes to the function's lambda_handler, loaded in this
process as Lambda loads it: its own module, the common layer on sys.path. DynamoDB is DynamoDB Local keeping its data
in .local/dynamodb (moto's server, in memory, where Java is missing), or DYNAMODB_ENDPOINT_URL when it is set.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from localdev import database, token
from localdev.dynamodb_local import DynamoDBLocalUnavailable
from localdev.gateway import (
    INTERNAL_ERROR,
    NOT_FOUND,
    UNAUTHORIZED,
    Gateway,
    HttpRequest,
    HttpResponse,
    Route,
    build_event,
    from_lambda,
    gateway_from_template,
    json_response,
)
from localdev.schedules import Schedule, Scheduler, schedules_from_template
from localdev.table import TABLES
from localdev.template import load_template
from localdev.timing import DynamoDBTimer, Timings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LAYER = ROOT / "layers" / "common" / "python"
DATA_DIR = ROOT / ".local" / "dynamodb"
DEMO_PAGE = Path(__file__).resolve().parent / "demo.html"
# The widget's browser bundle (React included), built by `make widget-build`; the demo page loads it from /widget/.
WIDGET_DEMO = ROOT / "widget" / "dist" / "demo"
WIDGET_TYPES = {".js": "text/javascript; charset=utf-8", ".map": "application/json"}
HOST = "127.0.0.1"
DEFAULT_PORT = 3000
READY = "AI chat is running at "
DYNAMODB_LINE = "  DynamoDB: "

Handler = Callable[[dict[str, Any], Any], Any]


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


def load_handler(route: Route | Schedule) -> Handler:
    """The function's handler, from its own module as Lambda imports it: its code folder first on sys.path."""
    module_name, _, attribute = route.handler.rpartition(".")
    path = route.code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{route.code_dir.name}_{module_name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{route.function}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(route.code_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(route.code_dir))
    handler: Handler = getattr(module, attribute)
    return handler


class App:
    """API Gateway in front of the functions: routing, the JWT authorizer, CORS, and the payload-2.0 exchange."""

    def __init__(self, gateway: Gateway, handlers: Mapping[str, Handler], secret: str, *,
                 timer: DynamoDBTimer | None = None, log: Callable[[str], None] | None = None) -> None:
        self.gateway = gateway
        self.handlers = handlers
        self.secret = secret
        self.timer = timer
        self.log = log

    def handle(self, request: HttpRequest, host: str) -> HttpResponse:
        """The response API Gateway (and the function behind it) would give."""
        started = time.perf_counter()
        timings = Timings()
        response = self._respond(request, host, timings)
        timings.total_ms = (time.perf_counter() - started) * 1000
        if self.timer is not None:
            response.headers.append(("server-timing", timings.header()))
        if self.log is not None:
            query = f"?{request.raw_query}" if request.raw_query else ""
            self.log(f'{request.source_ip} "{request.method} {request.raw_path}{query}" {response.status} '
                     f"{timings.total_ms:.1f} ms")
        return response

    def _respond(self, request: HttpRequest, host: str, timings: Timings) -> HttpResponse:
        origin = request.header("origin")
        matched = self.gateway.match(request.method, request.raw_path)
        if request.method == "OPTIONS" and matched is None and self.gateway.cors.allow_methods:
            # API Gateway answers CORS preflights itself, before any authorizer.
            return HttpResponse(204, list(self.gateway.cors.preflight_headers(origin).items()), b"")
        if matched is None:
            if request.method in ("GET", "HEAD") and request.raw_path in ("/", "/index.html"):
                return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], DEMO_PAGE.read_bytes())
            if request.method in ("GET", "HEAD") and request.raw_path.startswith("/widget/"):
                return widget_file(request.raw_path.removeprefix("/widget/"))
            return json_response(404, NOT_FOUND)
        route, path_parameters = matched
        cors = self.gateway.cors.response_headers(origin)
        claims = None
        if route.authorized:
            try:
                claims = token.verify(request.header("authorization"), self.secret)
            except token.InvalidToken as e:
                if self.log is not None:
                    self.log(f"401 {request.method} {request.raw_path}: {e}")
                challenge = {} if request.header("authorization") is None else {
                    "www-authenticate": f'Bearer error="invalid_token" error_description="{e}"'}
                return json_response(401, UNAUTHORIZED, {**challenge, **cors})
        event = build_event(request, route, path_parameters, claims, host)
        context = LambdaContext(function_name=route.function, memory_limit_in_mb=route.memory,
                                timeout_seconds=route.timeout)
        handler_started = time.perf_counter()
        try:
            with self.timer.measuring(timings) if self.timer else contextlib.nullcontext():
                result = self.handlers[route.function](event, context)
            response = from_lambda(result)
        except Exception:
            # What Lambda would log; the client gets API Gateway's bare 500, never the traceback.
            sys.stderr.write(f"{route.function} failed:\n{traceback.format_exc()}")
            response = json_response(500, INTERNAL_ERROR)
        timings.handler_ms = (time.perf_counter() - handler_started) * 1000
        response.headers.extend(cors.items())
        return response


def widget_file(name: str) -> HttpResponse:
    """A file of the widget's demo build, by bare name only (nothing outside widget/dist/demo is reachable)."""
    path = WIDGET_DEMO / name
    if "/" in name or "\\" in name or name.startswith(".") or path.suffix not in WIDGET_TYPES or not path.is_file():
        return json_response(404, {"detail": f"No widget file {name!r}; build the widget with `make widget-build`.",
                                   "code": "asset_not_found"})
    return HttpResponse(200, [("content-type", WIDGET_TYPES[path.suffix]), ("cache-control", "no-cache")],
                        path.read_bytes())


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and benchmarks expect
    # Headers and body leave in two writes; with Nagle's algorithm the body waits for the client's delayed ACK,
    # adding 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: LocalServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as e:
            self.send_error(400, str(e))
            return
        raw_path, _, raw_query = self.path.partition("?")
        request = HttpRequest(method=self.command, raw_path=raw_path, raw_query=raw_query,
                              headers=list(self.headers.items()), body=body, source_ip=self.client_address[0],
                              protocol=self.request_version)
        response = self.server.app.handle(request, self.headers.get("host") or f"{HOST}:{self.server.server_port}")
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        raw = self.headers.get("content-length") or "0"
        if not raw.isdigit():
            raise ValueError(f"Content-Length must be a number of bytes, not {raw!r}")
        return self.rfile.read(int(raw))

    def __getattr__(self, name: str) -> Any:
        # Every method goes through the gateway, which answers 404 for any it has no route for (TRACE too).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # App.handle logs each request (with its time) when asked to; the stdlib's own lines would repeat them.
        return


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the stdlib's 5 would refuse a burst of parallel connections

    def __init__(self, port: int, app: App) -> None:
        self.app = app
        super().__init__((HOST, port), _RequestHandler)


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"PORT must be a whole number from 0 to 65535, not {value!r}")
    return int(value)


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    """The command line, with PORT from the environment as the default port."""
    parser = argparse.ArgumentParser(prog="python -m localdev", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--port", type=_port, default=None,
                        help=f"port on {HOST} (default: PORT, else {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--in-memory", action="store_true", help="DynamoDB Local keeps nothing on disk")
    parser.add_argument("--moto", action="store_true", help="use moto's DynamoDB server even where Java is present")
    parser.add_argument("--create-table", action="store_true",
                        help="with DYNAMODB_ENDPOINT_URL: create the table there if it is missing")
    parser.add_argument("--timing", action="store_true",
                        help="add a Server-Timing header: total, handler and DynamoDB milliseconds")
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    args = parser.parse_args(argv)
    if args.port is None:
        try:
            args.port = _port(environ.get("PORT") or str(DEFAULT_PORT))
        except argparse.ArgumentTypeError as e:
            parser.error(str(e))
    return args


def _say(text: str) -> None:
    print(text, flush=True)


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")


def _provider_line(settings: Any, environ: Mapping[str, str]) -> str:
    name = settings.provider
    if name == "offline":
        return ("offline: a deterministic local model (set OPENAI_API_KEY or ANTHROPIC_API_KEY to use a real "
                "one)")
    from aichat.providers.registry import DEFAULT_MODELS

    model = settings.LLM_MODEL or DEFAULT_MODELS.get(name, "its default model")
    keys = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
    key = keys.get(name, "")
    if any(environ.get(k) for k in (key, f"{key}_SECRET", f"{key}_PARAMETER")):
        return f"{name}, {model} (its key is set)"
    return f"{name}, {model} - but {key} is not set, so chats will answer 503 provider_not_configured"


@contextlib.contextmanager
def _dynamodb(args: argparse.Namespace, environ: MutableMapping[str, str]) -> Iterator[str]:
    """The DynamoDB endpoint the functions use; the environment set for it before any function loads."""
    environ.setdefault("TABLE_NAME", "ai-chat")
    environ.setdefault("IDEMPOTENCY_TABLE_NAME", "ai-chat-idempotency")
    tables = {resource: environ[setting] for resource, setting in TABLES.items()}
    external = environ.get("DYNAMODB_ENDPOINT_URL")
    if external:
        # A stand-in on this machine ignores credentials, but botocore still wants some; anywhere else, the real
        # ones (environment or profile) must not be shadowed.
        if urlsplit(external).hostname in ("127.0.0.1", "localhost", "::1"):
            for name, value in database.LOCAL_CREDENTIALS.items():
                environ.setdefault(name, value)
        environ.setdefault("AWS_REGION", "us-east-1")
        db = database.client(external, environ["AWS_REGION"])
        done = database.ensure_tables(db, tables, create=args.create_table)
        _say(f"{DYNAMODB_LINE}{external} (DYNAMODB_ENDPOINT_URL), tables {done}")
        yield external
        return
    engine: database.Engine = "moto" if args.moto else "auto"
    with database.embedded(None if args.in_memory else DATA_DIR, engine) as embedded:
        environ.update(database.LOCAL_CREDENTIALS)
        environ.pop("AWS_SESSION_TOKEN", None)
        environ["AWS_DEFAULT_REGION"] = environ["AWS_REGION"]
        environ["DYNAMODB_ENDPOINT_URL"] = embedded.endpoint
        done = database.ensure_tables(database.client(embedded.endpoint, environ["AWS_REGION"]), tables, create=True)
        if embedded.warning:
            sys.stderr.write("\n" + embedded.warning + "\n\n")
        _say(f"{DYNAMODB_LINE}{embedded.description}, tables {done}")
        yield embedded.endpoint


def _template_literals(template: Mapping[str, Any]) -> dict[str, str]:
    """Globals' environment variables with plain values (POWERTOOLS_*); those built from stack resources differ
    locally and are left to the layer's defaults and this process's environment."""
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {name: str(value) for name, value in variables.items() if isinstance(value, str | int | float)}


def _scheduler(schedules: list[Schedule], by_module: dict[tuple[Path, str], Handler]) -> Scheduler:
    """EventBridge's rate(...) rules for the scheduled functions (the turn sweeper, the rollup), in threads."""
    handlers = {}
    for schedule in schedules:
        if (schedule.code_dir, schedule.handler) not in by_module:
            by_module[(schedule.code_dir, schedule.handler)] = load_handler(schedule)
        handlers[schedule.function] = by_module[(schedule.code_dir, schedule.handler)]

    def invoke(schedule: Schedule, event: dict[str, Any]) -> Any:
        context = LambdaContext(function_name=schedule.function, memory_limit_in_mb=schedule.memory,
                                timeout_seconds=schedule.timeout)
        return handlers[schedule.function](event, context)

    return Scheduler(schedules, invoke, _log)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace, environ: MutableMapping[str, str]) -> int:
    """Start DynamoDB, load every function, serve until Ctrl-C or SIGTERM; the exit status."""
    template = load_template(TEMPLATE)
    gateway = gateway_from_template(template, ROOT)
    try:
        httpd = LocalServer(args.port, App(gateway, {}, token.secret_from(environ)))
    except OSError as e:
        sys.stderr.write(f"Cannot listen on {HOST}:{args.port} ({e.strerror}); set PORT to a free port, "
                         f"e.g. PORT={args.port + 1} make dev\n")
        return 1
    # Stopped by SIGTERM (a test's teardown) as by Ctrl-C, so DynamoDB Local is always stopped with the server.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    timer = DynamoDBTimer() if args.timing else None
    if timer is not None:
        timer.install()
    _say("AI chat - local server")
    with httpd, _dynamodb(args, environ):
        for name, value in _template_literals(template).items():
            environ.setdefault(name, value)
        if str(LAYER) not in sys.path:
            sys.path.insert(0, str(LAYER))
        from aichat.errors import ConfigurationError
        from aichat.settings import load_settings

        try:
            settings = load_settings()
            handlers: dict[str, Handler] = {}
            by_module: dict[tuple[Path, str], Handler] = {}
            for route in gateway.routes:
                if (route.code_dir, route.handler) not in by_module:
                    by_module[(route.code_dir, route.handler)] = load_handler(route)
                handlers[route.function] = by_module[(route.code_dir, route.handler)]
        except ConfigurationError as e:
            sys.stderr.write(f"Configuration error: {e}\n")
            return 2
        httpd.app = App(gateway, handlers, token.secret_from(environ), timer=timer,
                        log=None if args.quiet else _log)
        scheduler = _scheduler(schedules_from_template(template, ROOT), by_module)
        secret_note = "LOCAL_JWT_SECRET" if environ.get("LOCAL_JWT_SECRET") else "the default LOCAL_JWT_SECRET"
        url = f"http://{HOST}:{httpd.server_port}"
        _say(f"  Model:    {_provider_line(settings, environ)}")
        _say(f"  Tokens:   HS256 signed with {secret_note}; mint one with: make token USER=alice TENANT=acme")
        _say(f"  Routes:   {len(gateway.routes)} from template.yaml")
        for route in sorted(gateway.routes, key=lambda r: r.path):
            _say(f"            {route.method:6} {route.path}  ->  {route.function}"
                 f"{'' if route.authorized else '  (no token)'}")
        for schedule in scheduler.schedules:
            _say(f"  Schedule: {schedule.function} every {schedule.every_seconds} s ({schedule.rule})")
        _say(f"  Docs:     {url}/docs  {url}/redoc  {url}/openapi.json")
        _say(f"{READY}{url}/  (Ctrl-C stops it)")
        scheduler.start()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                httpd.serve_forever()
        finally:
            scheduler.stop()
        _say("Stopping.")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Run the local server until interrupted."""
    environ = os.environ
    args = parse_args(argv, environ)
    try:
        status = serve(args, environ)
    except (LookupError, DynamoDBLocalUnavailable) as e:
        sys.stderr.write(f"{e}\n")
        status = 1
    except KeyboardInterrupt:
        status = 130
    sys.exit(status)
