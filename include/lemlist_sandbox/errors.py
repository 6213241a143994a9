"""The error every route raises; ``contract.py`` gives it the shape the spec documents for the operation."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi.responses import JSONResponse, PlainTextResponse, Response


class _Shapes(Protocol):
    def error_response(self, status: int, message: str, code: str | None = None) -> Response: ...


class LemlistError(Exception):
    """Raise from a route to answer an error the way lemlist does.

    ``code`` names the error where the documented body has a code (``COMPANY_NOT_FOUND``); ``json_body``
    replaces the documented shape for the few answers lemlist words its own way (``ALREADY_ENRICHED``).
    """

    def __init__(self, status: int, message: str, *, code: str | None = None, json_body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.json_body = json_body

    def response(self, operation: _Shapes | None = None) -> Response:
        if self.json_body is not None:
            return JSONResponse(self.json_body, status_code=self.status)
        if operation is not None:
            return operation.error_response(self.status, self.message, self.code)
        return PlainTextResponse(self.message, status_code=self.status)
