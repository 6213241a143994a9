"""The sandbox application: FastAPI routes under ``/api``, control routes under ``/_sandbox``."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import routes as routes_pkg
from .config import SandboxConfig
from .control import router as control_router
from .errors import LemlistError
from .middleware import SandboxMiddleware
from .sandbox import Sandbox

WEB_APP_HTML = (
    "<!DOCTYPE html><html><head><title>lemlist</title></head>"
    "<body><div id='root'>lemlist web app</div></body></html>"
)


class SandboxApp(FastAPI):
    """Keeps the server's own ``send`` in the scope, so the reset fault can reach the TCP transport."""

    async def __call__(self, scope, receive, send) -> None:
        scope["sandbox.raw_send"] = send
        await super().__call__(scope, receive, send)


def _route_sort_key(route) -> tuple:
    """Static path segments before parameters, so ``/contacts/export`` wins over ``/contacts/{id}``."""
    path = getattr(route, "path", "")
    if not path.startswith("/api"):
        return (0,)
    return (1, *(1 if seg.startswith("{") else 0 for seg in path.strip("/").split("/")))


def _operation(request: Request):
    """The spec operation of the route that raised (None off the spec or before routing)."""
    return getattr(request.scope.get("route"), "operation", None)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    sandbox = Sandbox(config)
    app = SandboxApp(title="lemlist sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")
    app.state.sandbox = sandbox

    for info in sorted(pkgutil.iter_modules(routes_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router, prefix="/api")
    app.include_router(control_router)
    app.router.routes.sort(key=_route_sort_key)

    @app.exception_handler(LemlistError)
    async def _lemlist_error(request: Request, exc: LemlistError) -> Response:
        return exc.response(_operation(request))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"Invalid request: {where} {first.get('msg', '')}".strip()
        return LemlistError(400, message, code="INVALID_REQUEST").response(_operation(request))

    @app.exception_handler(StarletteHTTPException)
    async def _unknown_route(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and sandbox.config.faults.html_for_unknown:
            # The real service answers unknown paths with the web app's HTML and a 200.
            return HTMLResponse(WEB_APP_HTML, status_code=200)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    app.add_middleware(SandboxMiddleware, sandbox=sandbox)
    return app
