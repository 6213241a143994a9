"""lemlist answers most errors as text/plain, some as JSON; these helpers keep the sandbox consistent."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, PlainTextResponse


class LemlistError(Exception):
    """Raise from a route to answer an error the way lemlist does."""

    def __init__(self, status: int, message: str, *, json_body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.json_body = json_body

    def response(self) -> PlainTextResponse | JSONResponse:
        if self.json_body is not None:
            return JSONResponse(self.json_body, status_code=self.status)
        return PlainTextResponse(self.message, status_code=self.status)


def not_found(what: str) -> LemlistError:
    return LemlistError(404, f"{what} not found")


def bad_request(message: str) -> LemlistError:
    return LemlistError(400, message)
