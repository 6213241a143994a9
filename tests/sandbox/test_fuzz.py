"""Property-based: schemathesis drives lemlist's spec at the sandbox, over every operation.

Generated requests, well-formed and malformed (the spec's examples, the coverage phase's edge and invalid
values, the fuzzing phase), deterministic and bounded (``MAX_EXAMPLES`` per operation and phase; about a
minute on the 2-core machine). Every answer must be no 5xx and have the status, content type and body the
spec documents; a request that breaks the schema must get a 4xx. The spec checked is the one the sandbox
serves: ``openapi-v2.json`` with the short table of ``lemlist_sandbox/deviations.py`` applied.
"""

from __future__ import annotations

import json
import os

import pytest

from lemlist_sandbox import SandboxServer, contract
from lemlist_sandbox.deviations import DEVIATIONS

pytest.importorskip("schemathesis", reason="schemathesis is a test requirement (requirements.txt)")
from lemlist_sandbox import fuzz  # noqa: E402

MAX_EXAMPLES = 10
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
