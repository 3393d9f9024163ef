"""``lawful-crm serve`` against slow and surplus clients: connections that send a byte now and then are closed,
connections beyond the cap are answered 503, and ordinary requests are served meanwhile."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.test_webhook_serve import Serving, serving, write_config

SLOW_CLIENTS = 50
MAX_CONNECTIONS = 60
GIVE_UP_S = 60.0
"""Only a bound for a broken server, so the test ends; the server's own deadline is 2 s."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    directory = tmp_path_factory.mktemp("serve")
    config = write_config(directory / "lawful-crm.toml", directory / "store.db", run_worker=False)
    with config.open("a", encoding="utf-8") as extra:
        extra.write(f"request_timeout_s = 2\nkeep_alive_s = 2\nmax_connections = {MAX_CONNECTIONS}\n")
    with serving(config) as running:
        yield running


def address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed ``connection`` (end of stream, or a reset), without waiting."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(4096) == b""
    except ConnectionError:
        return True


def test_fifty_clients_that_send_a_byte_now_and_then_are_disconnected(server: Serving) -> None:
    """Each slow client trickles a request head; the server closes every one, and answers others meanwhile."""
    clients = [socket.create_connection(address(server.base)) for _ in range(SLOW_CLIENTS)]
    head = b"POST /webhooks/salesforce/signed HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
    open_clients = set(range(SLOW_CLIENTS))
    started = time.monotonic()
    position = 0
    try:
        while open_clients and time.monotonic() - started < GIVE_UP_S:
            for index in sorted(open_clients):
                if closed_by_server(clients[index]):
                    open_clients.discard(index)
                    continue
                try:
                    clients[index].sendall(head[position : position + 1])
                except (BrokenPipeError, ConnectionResetError):
                    open_clients.discard(index)
            if position == 5:
                assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
            position += 1
            time.sleep(0.2)
    finally:
        for client in clients:
            client.close()
    assert not open_clients, f"{len(open_clients)} slow clients still connected after {GIVE_UP_S:.0f} s"
    assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200


def test_connections_beyond_the_cap_are_answered_503_and_closed(server: Serving) -> None:
    """With the cap's worth of connections open, the next one gets 503 and is closed; later ones are served."""
    held = [socket.create_connection(address(server.base)) for _ in range(MAX_CONNECTIONS)]
    try:
        surplus = socket.create_connection(address(server.base))
        surplus.settimeout(10)
        answer = b""
        while chunk := surplus.recv(4096):
            answer += chunk
        surplus.close()
        assert answer.startswith(b"HTTP/1.1 503 ")
    finally:
        for connection in held:
            connection.close()
    deadline = time.monotonic() + GIVE_UP_S
    while True:  # the held connections are gone once the server has seen them close
        response = httpx.get(f"{server.base}/healthz", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 200


def test_a_whole_request_is_answered_and_an_idle_connection_is_closed_after_keep_alive(
    server: Serving, tmp_path: Path
) -> None:
    """A request that arrives whole is answered; the connection then idles and is closed by the server."""
    connection = socket.create_connection(address(server.base))
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.settimeout(GIVE_UP_S)
    answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200 ")
    rest = b""
    while chunk := connection.recv(4096):
        rest += chunk
    connection.close()
    assert b"HTTP/1.1" not in rest, "closed without another response"
