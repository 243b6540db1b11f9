"""The local server's HTTP (localdev/http.py, uvicorn): requests read whole, responses written whole or streamed
chunk by chunk as they are produced, each request in a thread of its own, over real loopback connections."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from localdev import http as local_http
from localdev.api import Api
from localdev.gateway import HttpRequest, HttpResponse, gateway_from_template
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0


@contextmanager
def serving(respond: local_http.Respond) -> Iterator[local_http.HttpServer]:
    with local_http.HttpServer(local_http.HttpApp(respond), local_http.listen("127.0.0.1", 0)) as server:
        yield server


def connect(server: local_http.HttpServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)


def plain(status: int = 200, body: bytes = b"{}") -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], body)


# --- the streaming seam: a response body sent as it is produced ---------------------------------------------------


def test_a_streamed_reply_reaches_the_client_chunk_by_chunk_before_the_last_chunk_is_produced() -> None:
    first_arrived = threading.Event()
    produced: list[str] = []

    def events() -> Iterator[bytes]:
        produced.append("one")
        yield b"data: one\n\n"
        # The next chunk is produced only once the client has the first: nothing waits for the whole body.
        produced.append("two" if first_arrived.wait(WAIT) else "two, after the client gave up waiting")
        yield b"data: two\n\n"

    def respond(request: HttpRequest, host: str) -> HttpResponse:
        return HttpResponse(200, [("content-type", "text/event-stream")], stream=events())

    with serving(respond) as server:
        connection = connect(server)
        connection.request("POST", "/stream")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("transfer-encoding") == "chunked"
        assert response.getheader("content-length") is None
        assert response.read1(1024) == b"data: one\n\n"
        assert produced == ["one"], "the first chunk arrived while the second was not yet produced"
        first_arrived.set()
        assert response.read() == b"data: two\n\n"
        assert produced == ["one", "two"]
        connection.request("GET", "/again")  # the connection is kept alive after a streamed reply
        assert connection.getresponse().read() == b"data: one\n\n" + b"data: two\n\n"


def test_an_async_stream_after_a_first_body_part_is_sent_in_order() -> None:
    async def events() -> AsyncIterator[bytes]:
        for n in range(3):
            await asyncio.sleep(0.01)
            yield f"data: {n}\n\n".encode()

    def respond(request: HttpRequest, host: str) -> HttpResponse:
        return HttpResponse(200, [("content-type", "text/event-stream")], b": hello\n\n", stream=events())

    with serving(respond) as server:
        connection = connect(server)
        connection.request("GET", "/stream")
        assert connection.getresponse().read() == b": hello\n\ndata: 0\n\ndata: 1\n\ndata: 2\n\n"
        connection.request("HEAD", "/stream")
        head = connection.getresponse()
        assert (head.status, head.read()) == (200, b"")


def test_when_the_client_leaves_mid_stream_the_producer_is_stopped_and_closed() -> None:
    closed = threading.Event()
    produced = []

    def endless() -> Iterator[bytes]:
        try:
            while True:
                produced.append(1)
                yield b"data: tick\n\n"
                time.sleep(0.01)
        finally:
            closed.set()

    with serving(lambda request, host: HttpResponse(200, [], stream=endless())) as server:
        connection = connect(server)
        connection.request("GET", "/stream")
        response = connection.getresponse()
        assert response.read1(1024).startswith(b"data: tick")
        response.close()
        connection.close()
        assert closed.wait(WAIT), "the generator was closed once the client had gone"
        count = len(produced)
        time.sleep(0.1)
        assert len(produced) == count, "nothing more was produced"


# --- whole responses, requests and connections ------------------------------------------------------------------


def test_a_whole_reply_has_its_content_length_and_the_functions_framing_headers_are_dropped() -> None:
    def respond(request: HttpRequest, host: str) -> HttpResponse:
        return HttpResponse(201, [("Content-Type", "application/json"), ("Content-Length", "999"),
                                  ("Transfer-Encoding", "chunked"), ("Connection", "close"), ("X-Next-Cursor", "c1")],
                            b'{"ok": true}')

    with serving(respond) as server:
        connection = connect(server)
        for _ in range(2):  # one keep-alive connection for both
            connection.request("GET", "/")
            response = connection.getresponse()
            assert (response.status, response.read()) == (201, b'{"ok": true}')
            assert response.getheader("content-length") == "12" and response.getheader("transfer-encoding") is None
            assert response.getheader("x-next-cursor") == "c1" and response.getheader("server") is None
            assert not response.will_close


def test_keep_alive_replies_do_not_wait_for_the_clients_delayed_ack() -> None:
    # Headers and body leave in two writes; with Nagle's algorithm on, each reply would wait ~40 ms for the ACK.
    with serving(lambda request, host: plain(body=b"x" * 100)) as server:
        connection = connect(server)
        latencies = []
        for _ in range(15):
            started = time.perf_counter()
            connection.request("POST", "/", body=b"{}")
            connection.getresponse().read()
            latencies.append(time.perf_counter() - started)
    assert sorted(latencies)[len(latencies) // 2] < 0.030, latencies


def test_the_request_reaches_the_responder_as_sent_with_a_chunked_body_read_whole() -> None:
    seen: list[tuple[HttpRequest, str]] = []

    def respond(request: HttpRequest, host: str) -> HttpResponse:
        seen.append((request, host))
        return plain()

    with serving(respond) as server:
        connection = connect(server)
        connection.request("POST", "/a%2Fb/c?x=1&y=%20", body=iter([b'{"message": ', b'"in two chunks"}']),
                           headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"},
                           encode_chunked=True)
        assert connection.getresponse().status == 200
    request, host = seen[0]
    assert (request.method, request.raw_path, request.raw_query) == ("POST", "/a%2Fb/c", "x=1&y=%20")
    assert request.body == b'{"message": "in two chunks"}' and request.header("transfer-encoding") == "chunked"
    assert request.source_ip == "127.0.0.1", "a client's X-Forwarded-For does not change the source address"
    assert request.header("x-forwarded-for") == "203.0.113.9" and request.protocol == "HTTP/1.1"
    assert host == f"127.0.0.1:{server.port}"


def test_any_method_goes_to_the_gateway_which_answers_404_for_trace_and_unknown_paths() -> None:
    gateway = gateway_from_template(load_template(ROOT / "template.yaml"), ROOT)
    api = Api(gateway, {}, "a-unit-test-secret-that-is-long-enough")
    with serving(api.handle) as server:
        connection = connect(server)
        for method, path in (("TRACE", "/"), ("PURGE", "/api/v1/ai/chat"), ("GET", "/nothing"),
                             ("DELETE", "/api/v1/ai/chat")):
            connection.request(method, path)
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (404, {"message": "Not Found"}), method
        connection.request("HEAD", "/")
        head = connection.getresponse()
        assert head.status == 200 and int(head.getheader("content-length") or 0) > 0 and head.read() == b""


def test_a_reply_header_http_cannot_carry_is_api_gateways_500() -> None:
    def respond(request: HttpRequest, host: str) -> HttpResponse:
        return HttpResponse(200, [("x-injected", "a\r\nset-cookie: stolen=1")], b"{}")

    with serving(respond) as server:
        connection = connect(server)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (500, {"message": "Internal Server Error"})
        assert response.getheader("set-cookie") is None


def test_a_fault_of_the_responder_itself_is_a_bare_500_with_the_traceback_in_the_log(
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(request: HttpRequest, host: str) -> HttpResponse:
        raise RuntimeError("secret internals")

    with serving(broken) as server:
        connection = connect(server)
        connection.request("GET", "/x")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (500, {"message": "Internal Server Error"})
    assert "secret internals" in capsys.readouterr().err


def test_each_request_has_a_thread_of_its_own_so_150_can_be_in_a_function_at_once() -> None:
    in_flight = 150
    together = threading.Barrier(in_flight, timeout=WAIT)

    def respond(request: HttpRequest, host: str) -> HttpResponse:
        together.wait()  # every request blocks here until all of them are in; a bounded pool would never get there
        return plain(body=request.raw_path.encode())

    def call(n: int) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT * 2)
        connection.request("GET", f"/{n}")
        response = connection.getresponse()
        return response.status, response.read()

    with serving(respond) as server, ThreadPoolExecutor(max_workers=in_flight) as pool:
        replies = list(pool.map(call, range(in_flight)))
    assert replies == [(200, f"/{n}".encode()) for n in range(in_flight)]


def test_a_taken_port_cannot_be_listened_on() -> None:
    with local_http.listen("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            local_http.listen("127.0.0.1", port)


def test_stopping_closes_the_socket_and_idle_keep_alive_connections() -> None:
    server = local_http.HttpServer(local_http.HttpApp(lambda request, host: plain()), local_http.listen("127.0.0.1", 0))
    server.start()
    connection = connect(server)
    connection.request("GET", "/")
    assert connection.getresponse().read() == b"{}"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < local_http.GRACE_SECONDS, "an idle connection does not hold the stop up"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_a_request_in_flight_when_the_server_stops_gets_503_after_the_grace_period(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_http, "GRACE_SECONDS", 0.5)
    release = threading.Event()
    entered = threading.Event()

    def slow(request: HttpRequest, host: str) -> HttpResponse:
        entered.set()
        release.wait(WAIT)
        return plain()

    server = local_http.HttpServer(local_http.HttpApp(slow), local_http.listen("127.0.0.1", 0))
    server.start()
    outcome: list[object] = []

    def call() -> None:
        try:
            connection = connect(server)
            connection.request("GET", "/")
            outcome.append(connection.getresponse().status)
        except (OSError, http.client.HTTPException) as e:
            outcome.append(e)

    caller = threading.Thread(target=call)
    caller.start()
    assert entered.wait(WAIT)
    started = time.monotonic()
    server.stop()
    stopped_after = time.monotonic() - started
    release.set()
    caller.join(WAIT)
    assert stopped_after < 3, "the stop waited for the grace period, not for the function"
    assert outcome == [503], "the request was told the server stopped"
