"""The local server's HTTP: an ASGI application, served by uvicorn on a loopback socket.

uvicorn reads and writes HTTP/1.1 (any method, Content-Length or chunked request bodies, keep-alive, HEAD); the
application turns each request into an HttpRequest, has a responder answer it (`Api.handle`: the gateway and the
functions) in a thread of the request's own, and writes the HttpResponse: a body whole, with its Content-Length, or
a body followed by a stream of chunks, each sent as soon as it is produced (chunked transfer encoding), as
Server-Sent Events need.

A function may block for its whole timeout (a model call), so each request gets a thread of its own, as each
concurrent Lambda invocation gets an environment of its own: nothing queues behind a slow function. The threads are
reused daemons, so stopping the server never waits for one beyond the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import uvicorn

from aichat.core.daemons import Daemons
from localdev.gateway import INTERNAL_ERROR, Chunks, HttpRequest, HttpResponse, json_response
from localdev.streams import StreamFront, StreamTarget

Respond = Callable[[HttpRequest, str], HttpResponse]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Queued connections a burst may open before the server accepts them (the contract tests open 160 at once).
BACKLOG = 2048
# How long an idle keep-alive connection stays open.
KEEP_ALIVE_SECONDS = 60
# On Ctrl-C or SIGTERM, how long requests in flight may take to finish before they are cut off.
GRACE_SECONDS = 5
# Headers that describe the connection or the framing, which the server writes itself.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
_NO_BODY = frozenset({204, 304})
STOPPED = {"message": "Service Unavailable"}

P = ParamSpec("P")
T = TypeVar("T")


# Reused daemon threads: about a third less of the server's own CPU time per request than a thread per request.
_WORKERS = Daemons("worker")


async def in_thread(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`func(*args, **kwargs)` in a thread of its own; its result (or exception) once it returns."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = func(*args, **kwargs)
        except BaseException as e:  # handed to the awaiting task, which decides
            _settle(loop, _reject, future, e)
        else:
            _settle(loop, _resolve, future, result)

    _WORKERS.run(run)
    return await future


def _settle(loop: asyncio.AbstractEventLoop, outcome: Callable[[asyncio.Future[T], Any], None],
            future: asyncio.Future[T], value: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped, nobody waits any more
        loop.call_soon_threadsafe(outcome, future, value)


def _resolve(future: asyncio.Future[T], result: T) -> None:
    if not future.done():  # not cancelled meanwhile (the server stopping)
        future.set_result(result)


def _reject(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class HttpApp:
    """The ASGI application: an HTTP request in, `respond(request, host)` in a thread, its response out; a request
    for a streaming route goes to that function's own ASGI app instead (`streams`)."""

    def __init__(self, respond: Respond, streams: StreamFront | None = None) -> None:
        self.respond = respond
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan events are sent (lifespan="off"), and no WebSockets are served
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client left before sending its whole body
        request = _request(scope, body)
        target = self.streams.target(request) if self.streams is not None else None
        if isinstance(target, StreamTarget):
            await target.serve(scope, body, receive, send)
            return
        if target is not None:  # the front's own answer (401)
            await _write(target, scope["method"] == "HEAD", receive, send)
            return
        server_host, server_port = scope.get("server") or ("127.0.0.1", 0)
        host = request.header("host") or f"{server_host}:{server_port}"
        try:
            response = await in_thread(self.respond, request, host)
        except asyncio.CancelledError:
            # The server is stopping and the grace period is over: the function's answer will never come.
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": json.dumps(STOPPED).encode()})
            return
        except Exception:
            # A fault of the local server itself (functions' exceptions are answered by the responder).
            sys.stderr.write(f"{request.method} {request.raw_path} failed:\n{traceback.format_exc()}")
            response = json_response(500, INTERNAL_ERROR)
        await _write(response, scope["method"] == "HEAD", receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _request(scope: Scope, body: bytes) -> HttpRequest:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    client = scope.get("client")
    return HttpRequest(method=scope["method"], raw_path=raw_path.decode("latin-1"),
                       raw_query=scope["query_string"].decode("latin-1"),
                       headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]], body=body,
                       source_ip=client[0] if client else "127.0.0.1", protocol=f"HTTP/{scope['http_version']}")


def _header_block(response: HttpResponse) -> list[tuple[bytes, bytes]] | None:
    """The response's headers as HTTP writes them, without the framing ones; None if HTTP cannot carry one."""
    headers = []
    for name, value in response.headers:
        if name.lower() in _FRAMING:
            continue
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            return None
        try:
            headers.append((name.lower().encode("latin-1"), value.strip().encode("latin-1")))
        except UnicodeEncodeError:
            return None
    return headers


async def _write(response: HttpResponse, head: bool, receive: Receive, send: Send) -> None:
    headers = _header_block(response)
    if headers is None:
        # API Gateway answers a reply it cannot send with its bare 500 as well.
        sys.stderr.write(f"a reply with a header HTTP cannot carry: {response.headers!r}\n")
        await _discard(response.stream)
        response = json_response(500, INTERNAL_ERROR)
        headers = [(k.encode(), v.encode()) for k, v in response.headers]
    if response.stream is None:
        if response.status not in _NO_BODY:
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else response.body})
        return
    # No Content-Length: HTTP/1.1 frames the body in chunks, each written as it comes.
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head:
        await _discard(response.stream)
        await send({"type": "http.response.body", "body": b""})
        return
    await _stream(response.body, response.stream, receive, send)


async def _stream(first: bytes, chunks: Chunks, receive: Receive, send: Send) -> None:
    """Send `first`, then each chunk as soon as it is produced; stop producing when the client leaves."""
    left = asyncio.ensure_future(_client_left(receive))
    produced = _each(chunks)
    try:
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        while True:
            following = asyncio.ensure_future(anext(produced))
            await asyncio.wait({following, left}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                following.cancel()
                await asyncio.wait({following})
                return  # the client left while the next chunk was being produced
            try:
                chunk = following.result()
            except StopAsyncIteration:
                break
            if left.done():
                return
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        left.cancel()
        close = getattr(produced, "aclose", None)
        if close is not None:
            await close()


async def _client_left(receive: Receive) -> None:
    """Returns when the client disconnects (the request body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _each(chunks: Chunks) -> AsyncIterator[bytes]:
    """The chunks as an async iterator; a plain iterable is run in a thread of its own, so it may block."""
    return aiter(chunks) if isinstance(chunks, AsyncIterable) else _produced_in_thread(chunks)


async def _produced_in_thread(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """Each chunk of a (blocking) iterable as a producer thread makes it; the iterable is closed when the consumer
    stops, once the chunk being produced is done."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[tuple[bytes | None, BaseException | None]] = asyncio.Queue()
    stopped = threading.Event()

    def put(item: tuple[bytes | None, BaseException | None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            loop.call_soon_threadsafe(ready.put_nowait, item)

    def produce() -> None:
        iterator = iter(chunks)
        try:
            for chunk in iterator:
                if stopped.is_set():
                    return
                put((chunk, None))
            put((None, None))
        except Exception as e:
            put((None, e))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    _WORKERS.run(produce)
    try:
        while True:
            chunk, error = await ready.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stopped.set()


async def _discard(chunks: Chunks | None) -> None:
    """Close a stream that will not be sent (a HEAD request, a reply that cannot be sent)."""
    if isinstance(chunks, AsyncIterable):
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    elif chunks is not None:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


# --- serving ------------------------------------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one); OSError when the port cannot be had."""
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that say they
    # are TCP, and with it on, a keep-alive reply written in two parts (headers, body) waits 40 ms for the client's
    # delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _log_to_stderr() -> None:
    """uvicorn's own warnings and errors (a malformed request, a failed stream) as plain lines on stderr."""
    logger = logging.getLogger("uvicorn.error")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("http: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


class HttpServer:
    """uvicorn serving an ASGI application on a listening socket, in a thread of its own, from start() to stop().

    Signals stay with the main thread (uvicorn listens to none off it): the caller decides when to stop.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], sock: socket.socket) -> None:
        _log_to_stderr()
        config = uvicorn.Config(
            app, lifespan="off", ws="none", interface="asgi3", proxy_headers=False, server_header=False,
            access_log=False, log_config=None, log_level="warning", backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS, timeout_graceful_shutdown=GRACE_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="http")

    def start(self, timeout: float = 10.0) -> None:
        """Serve, returning once connections are being accepted."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the HTTP server stopped as it started")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP server did not start within {timeout} s")
            time.sleep(0.005)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C and SIGTERM interrupt the wait in the main thread)."""
        self._thread.join()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to GRACE_SECONDS), close every connection."""
        self._server.should_exit = True
        try:
            self._thread.join()
        except KeyboardInterrupt:  # a second Ctrl-C: cut the requests in flight off now
            self._server.force_exit = True
            self._thread.join()

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
