"""Run the benchmarks and merge their figures into ``bench/results.json``.

Every ``bench/bench_*.py`` module exposes ``BENCHMARKS: dict[str, Callable[[], dict]]``. Each callable
returns a dict with at least ``figures`` (raw measurements), ``ratio`` (the headline figure, measured
against a baseline run in the same process), ``target`` (a string such as ">= 0.95") and ``passed``; or
``{"skipped": reason}`` when what it needs is absent (nothing measured: the last results stay).

    python -m bench.run                 # all (from the project folder; `make bench`)
    python -m bench.run rate_single     # only these names
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def discover() -> dict:
    found = {}
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        found.update(getattr(module, "BENCHMARKS", {}))
    return found


def main(argv: list[str]) -> int:
    benchmarks = discover()
    wanted = argv or list(benchmarks)
    unknown = [n for n in wanted if n not in benchmarks]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benchmarks)}")
        return 2
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    failed, skipped = [], []
    for name in wanted:
        print(f"== {name}", flush=True)
        started = time.time()
        try:
            result = benchmarks[name]()
        except Exception:
            traceback.print_exc()
            result = {"passed": False, "error": traceback.format_exc(limit=3)}
        if result.get("skipped"):
            print(f"   SKIP {result['skipped']}")
            skipped.append(name)
            continue
        result["seconds"] = round(time.time() - started, 2)
        result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results[name] = result
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        status = "PASS" if result.get("passed") else "FAIL"
        print(
            f"   {status} ratio={result.get('ratio')} target={result.get('target')} figures={result.get('figures')}"
        )
        if not result.get("passed"):
            failed.append(name)
    passed = len(wanted) - len(failed) - len(skipped)
    print(f"\n{passed} passed, {len(failed)} failed" + (f", {len(skipped)} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
