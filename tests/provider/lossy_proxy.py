"""A real TCP proxy in front of the sandbox that lets a request through and then loses its answer.

The request reaches the sandbox, which applies it (an enrichment start is charged), and the proxy reads the
whole answer; then, in place of that answer, the client gets nothing (``drop``: the connection stays open,
as when the network or the worker dies while waiting), a TCP reset (``reset``), a ``502`` (``5xx``) or a
``200`` whose JSON body is not JSON (``non_json``). Requests that do not match ``route`` (a regular
expression on ``"METHOD /path"``), and matching ones past the first ``times``, pass through unchanged.
Every request is forwarded on a connection of its own with ``Connection: close``.
"""

from __future__ import annotations

import re
import socket
import socketserver
import struct
import threading
from urllib.parse import urlsplit

FAULTS = ("drop", "reset", "5xx", "non_json")
_CANNED = {
    "5xx": b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nBad Gateway",
    "non_json": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 26\r\n"
    b"Connection: close\r\n\r\n<html>proxy error</html>\r\n",
}


def _read_request(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 request (head and a ``Content-Length`` body), with ``Connection: close``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    length = next(
        (int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class LossyProxy:
    """``with LossyProxy(sandbox.base_url, "drop", r"POST /api/v2/enrichments/bulk") as proxy:`` then point
    the connection at ``proxy.base_url``; ``proxy.applied`` is set once a lost answer was received."""

    def __init__(self, upstream_base_url: str, fault: str, route: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        parts = urlsplit(upstream_base_url)
        self.upstream = (parts.hostname, parts.port)
        self.path_prefix = parts.path.rstrip("/")
        self.fault, self.route, self.remaining = fault, re.compile(route), times
        self.applied = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path_prefix}"

    def __enter__(self) -> LossyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _matches(self, request: bytes) -> bool:
        method, target = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
        with self._lock:
            if self.remaining > 0 and self.route.match(f"{method} {target.split('?')[0]}"):
                self.remaining -= 1
                return True
        return False

    def _serve(self, client: socket.socket) -> None:
        request = _read_request(client)
        if request is None:
            return
        faulty = self._matches(request)
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        if not faulty:
            client.sendall(answer)
            return
        self.applied.set()
        if self.fault == "drop":
            self._release.wait()  # the client waits for an answer that never comes, until it gives up or dies
        elif self.fault == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # closing with a zero linger sends RST, not FIN
        else:
            client.sendall(_CANNED[self.fault])
