"""Property-based: schemathesis drives lemlist's spec at the sandbox, over every operation; hypothesis
drives the routes the spec does not describe.

Generated requests, well-formed and malformed (the spec's examples, the coverage phase's edge and invalid
values, the fuzzing phase), deterministic and bounded (``MAX_EXAMPLES`` per operation and phase; about a
minute on the 2-core machine). Every answer must be no 5xx and have the status, content type and body the
spec documents; a request that breaks the schema must get a 4xx. The spec checked is the one the sandbox
serves: ``openapi-v2.json`` with the short table of ``lemlist_sandbox/deviations.py`` applied.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

import pytest
import requests
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lemlist_sandbox import DEMO_KEY, SandboxServer, contract, create_app
from lemlist_sandbox.deviations import DEVIATIONS

pytest.importorskip("schemathesis", reason="schemathesis is a test requirement (requirements.txt)")
from lemlist_sandbox import fuzz  # noqa: E402

MAX_EXAMPLES = 10
# Field and parameter names the off-spec routes read, so generated bodies reach their checks.
FIELD_NAMES = (
    "campaignIds", "campaignId", "types", "type", "states", "state", "minDate", "maxDate", "isFirst",
    "filters", "targetUrl", "meetingTypeId", "anyMeetingType", "labelName", "color", "labelIds",
    "sendUserId", "contactId", "leadId", "message", "scheduleId", "scheduleIds", "domain", "firstName",
    "limit", "offset", "page",
)  # fmt: skip
FIGURES = os.environ.get("SANDBOX_FUZZ_FIGURES")  # a path: where to write the figures as JSON


@pytest.mark.slow
def test_every_operation_answers_as_the_spec_documents(tmp_path):
    with SandboxServer(rate_limit=0, time_scale=0.001) as server:
        result = fuzz.run(server, max_examples=MAX_EXAMPLES, workdir=tmp_path)
    figures = result.figures()
    print(f"\nfuzz: {json.dumps(figures)}")
    if FIGURES:
        with open(FIGURES, "w") as out:
            json.dump(figures, out, indent=2)
    assert result.operations == len(contract.spec_operations()) == 120
    assert result.tested == result.operations, "schemathesis skipped operations"
    assert result.cases > 20 * result.operations
    assert result.server_errors == 0, result.output[-6000:]
    assert result.failures == [], result.output[-6000:]


def test_the_deviations_stay_few_and_name_real_operations():
    named = {op for deviation in DEVIATIONS for op in deviation.operations}
    assert named <= set(contract.spec_operations())
    assert len(DEVIATIONS) <= 10 and all(d.reason and d.change for d in DEVIATIONS)


# -- routes off the spec (endpoint-reference.md, v1 paths, lemcal) --------------------------------------------
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
QUERIES = st.dictionaries(
    st.sampled_from(FIELD_NAMES), st.one_of(st.text(max_size=12), st.integers().map(str)), max_size=3
)


def _off_spec_routes() -> list[tuple[str, str]]:
    routes = [r for r in create_app().routes if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    return sorted((m, r.path) for r in routes if r.operation is None for m in r.methods)


@pytest.fixture(scope="module")
def off_spec_server():
    with SandboxServer(rate_limit=0, time_scale=0.001) as server:
        yield server


@pytest.mark.parametrize(("method", "template"), _off_spec_routes())
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=JSON_VALUES, query=QUERIES, path_value=st.one_of(st.none(), st.text(min_size=1, max_size=12)))
def test_routes_off_the_spec_never_answer_500(off_spec_server, method, template, body, query, path_value):
    """The routes the spec does not describe get arbitrary JSON bodies and query values: no 5xx."""
    server = off_spec_server
    team = server.team(DEMO_KEY)
    real = {"campaignId": next(iter(team.campaigns)), "email": "ada@analytical.io"}
    path = re.sub(r"\{([^}]+)\}", lambda m: quote(path_value or real.get(m.group(1), "x"), safe=""), template)
    auth = (team.user_id, DEMO_KEY) if template.startswith("/api/lemcal") else ("", DEMO_KEY)
    before = server.sandbox.world.stats.server_errors
    response = requests.request(
        method, server.root_url + path, params=query, json=body, auth=auth, timeout=10
    )
    assert response.status_code < 500, (
        f"{method} {path} {body!r}: {response.status_code} {response.text[:200]}"
    )
    assert server.sandbox.world.stats.server_errors == before
