"""A malformed body gets lemlist's 400, never a 500: clients must be able to tell their own mistakes."""

from __future__ import annotations

import pytest
import requests


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("POST", "/tasks", b"not json", "text/plain"),
        ("POST", "/tasks", b"[1, 2]", "text/plain"),
        ("POST", "/user/email-accounts", b"{broken", "text/plain"),
        ("POST", "/database/people", b"[]", "text/plain"),
        ("POST", "/companies", b"not json", "application/json"),
        ("POST", "/contacts", b"[]", "application/json"),
    ],
)
def test_malformed_body_is_a_400(sandbox, team_key, method, path, body, content_type):
    response = requests.request(
        method,
        f"{sandbox.base_url}{path}",
        data=body,
        headers={"Content-Type": "application/json"},
        auth=("", team_key),
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(content_type)
    assert "Body must be" in response.text
