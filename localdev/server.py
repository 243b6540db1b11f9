"""`make dev`: the whole product on http://127.0.0.1:3000, routed exactly as template.yaml routes it.

    python -m localdev [--port N] [--in-memory] [--moto] [--create-table] [--timing] [--quiet] [--schedules-every S]

Each request becomes the payload-2.0 event API Gateway would send (JWT claims verified with LOCAL_JWT_SECRET and
handed over as strings, as the JWT authorizer does), and goes to the function's lambda_handler, loaded in this
process as Lambda loads it: its own module, the common layer on sys.path. DynamoDB is DynamoDB Local keeping its data
in .local/dynamodb (moto's server, in memory, where Java is missing), or DYNAMODB_ENDPOINT_URL when it is set.

This module wires the parts together: localdev/http.py (HTTP, uvicorn), localdev/api.py (API Gateway around the
functions), localdev/lambdas.py (the functions), localdev/environment.py (what they read from os.environ),
localdev/database.py, localdev/schedules.py and localdev/banner.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import replace
from types import FrameType

from localdev import banner, database, environment, http, token
from localdev.api import Api
from localdev.dynamodb_local import DynamoDBLocalUnavailable
from localdev.gateway import gateway_from_template
from localdev.lambdas import Functions, put_layer_on_path
from localdev.paths import DATA_DIR, ROOT, TEMPLATE
from localdev.schedules import Scheduler, schedules_from_template
from localdev.streams import StreamFront, stream_routes
from localdev.template import load_template
from localdev.timing import DynamoDBTimer

__all__ = ["DEFAULT_PORT", "HOST", "ROOT", "TEMPLATE", "main", "parse_args", "serve"]

HOST = "127.0.0.1"
DEFAULT_PORT = 3000


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
    parser.add_argument("--schedules-every", type=float, default=None, metavar="SECONDS",
                        help="run every scheduled function this often instead of its rate (tests, demos)")
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


@contextlib.contextmanager
def _dynamodb(args: argparse.Namespace, environ: MutableMapping[str, str]) -> Iterator[None]:
    """DynamoDB for the functions, until the block ends: the environment pointed at it, the tables in place."""
    tables = environment.table_names(environ)
    with database.chosen(environ.get("DYNAMODB_ENDPOINT_URL"), None if args.in_memory else DATA_DIR,
                         "moto" if args.moto else "auto") as db:
        environment.use_database(environ, db)
        done = database.ensure_tables(database.client(db.endpoint, environ["AWS_REGION"], environ), tables,
                                      create=args.create_table or not db.external)
        if db.warning:
            sys.stderr.write("\n" + db.warning + "\n\n")
        _say(banner.database(db, done))
        yield


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace, environ: MutableMapping[str, str]) -> int:
    """Start DynamoDB, load every function, serve until Ctrl-C or SIGTERM; the exit status."""
    template = load_template(TEMPLATE)
    gateway = gateway_from_template(template, ROOT)
    schedules = schedules_from_template(template, ROOT)
    if args.schedules_every is not None:
        schedules = [replace(s, every_seconds=args.schedules_every) for s in schedules]
    try:
        listener = http.listen(HOST, args.port)
    except OSError as e:
        sys.stderr.write(f"Cannot listen on {HOST}:{args.port} ({e.strerror}); set PORT to a free port, "
                         f"e.g. PORT={args.port + 1} make dev\n")
        return 1
    # Stopped by SIGTERM (a test's teardown) as by Ctrl-C, so DynamoDB Local is always stopped with the server.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    timer = DynamoDBTimer() if args.timing else None
    if timer is not None:
        timer.install()
    _say(banner.TITLE)
    with listener, _dynamodb(args, environ):
        environment.apply_template_globals(environ, template)
        environment.log_events_without_a_bus(environ)
        put_layer_on_path()
        # The layer is imported only now, with the environment it reads at import in place.
        from aichat.api.routes import STREAM_ROUTES
        from aichat.core.errors import ConfigurationError
        from aichat.core.settings import load_settings

        try:
            settings = load_settings()
            functions = Functions([*gateway.routes, *schedules])
            streams = StreamFront(stream_routes(STREAM_ROUTES, ROOT), token.secret_from(environ), gateway.cors,
                                  log=None if args.quiet else _log)
        except ConfigurationError as e:
            sys.stderr.write(f"Configuration error: {e}\n")
            return 2
        api = Api(gateway, functions.handlers, token.secret_from(environ), timer=timer,
                  log=None if args.quiet else _log)
        scheduler = Scheduler(schedules, functions.invoke, _log)
        with http.HttpServer(http.HttpApp(api.handle, streams), listener) as server:
            for line in banner.lines(settings, environ, gateway.routes, schedules, f"http://{HOST}:{server.port}",
                                     list(streams.routes.values())):
                _say(line)
            scheduler.start()
            try:
                server.wait()
            except KeyboardInterrupt:
                _say("Stopping.")
            else:
                _log("The HTTP server stopped on its own.")
                return 1
            finally:
                scheduler.stop()
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
