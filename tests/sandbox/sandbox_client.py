"""The test modules' client of the sandbox API."""

from __future__ import annotations

import time
from typing import Any

import requests


class CallFailed(AssertionError):
    pass


class SandboxClient:
    """The key as Basic password; a 429 is waited out (``Retry-After``) like a polite user would."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = ("", key)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for _ in range(10):
            response = self.session.request(method, self.base_url + path, timeout=10, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("retry-after", "1")))
        raise CallFailed(f"{method} {path} stayed rate limited")

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON (or text), which must be a success."""
        response = self.call(method, path, **kwargs)
        if response.status_code >= 300:
            raise CallFailed(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json() if "json" in response.headers.get("content-type", "") else response.text
