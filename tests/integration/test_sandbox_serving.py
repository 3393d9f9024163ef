"""The one start-up helper of both emulators: it serves on a free loopback port, answers over keep-alive, stops
cleanly (and can start again), and says which server could not start on which port."""

from __future__ import annotations

import threading

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from crm_sandbox.serving import ThreadedServer, serving


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def served_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name == "test-app"]


def test_serves_on_a_free_loopback_port_and_stops_on_the_way_out() -> None:
    with serving(hello, name="test app") as server:
        assert server.port > 0 and server.base_url == f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=server.base_url) as client:
            assert [client.get("/").text for _ in range(3)] == ["hello"] * 3
        assert served_threads() == ["test-app"]
    assert served_threads() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url, timeout=2)


def test_a_stopped_server_starts_again_and_stopping_twice_is_harmless() -> None:
    server = ThreadedServer(hello, name="test app").start()
    server.stop()
    server.stop()
    server.start()
    try:
        assert httpx.get(server.base_url, timeout=5).text == "hello"
    finally:
        server.stop()


def test_a_taken_port_is_a_start_up_error_naming_the_server_and_the_port() -> None:
    with serving(hello, name="test app") as taken:
        with pytest.raises(RuntimeError, match=rf"the test app did not start on 127\.0\.0\.1:{taken.port}"):
            ThreadedServer(hello, name="test app", port=taken.port).start()
        assert httpx.get(taken.base_url, timeout=5).text == "hello", "the server holding the port serves on"
