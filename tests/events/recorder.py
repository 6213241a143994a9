"""A stand-in webhook target over real HTTP: it records every POST and answers what a test tells it to."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict, deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lemlist_sandbox import free_port
from lemlist_sandbox.server import http_server


class Recorder:
    """``url(path)`` is a target; ``answers[path]`` is a queue of statuses to give (then 200);
    ``hold`` blocks every answer until it is set; ``received[path]`` lists ``(time, body)``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
        self.answers: dict[str, deque[int]] = defaultdict(deque)
        self.hold = threading.Event()
        self.hold.set()
        self.waiting = threading.Event()  # set while an answer is held
        app = FastAPI()

        @app.post("/{path:path}")
        async def record(path: str, request: Request) -> JSONResponse:
            body = json.loads(await request.body())
            self.received[path].append((time.monotonic(), body))
            if not self.hold.is_set():
                self.waiting.set()
                while not self.hold.is_set():
                    await asyncio.sleep(0.02)
            status = self.answers[path].popleft() if self.answers[path] else 200
            return JSONResponse({"ok": status < 300}, status_code=status)

        self._server = http_server(app, "127.0.0.1", self.port)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for _, body in self.received[path]]

    def __enter__(self) -> Recorder:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)
