"""Ops data of the lemlist tasks: what each task try cost the key (requests, 429s, retries, seconds waited),
what it did (outcome counts, rows, report, credits), stored in Airflow's metadata database and shown on the
``/lemlist/ops`` page. See docs/operating.md."""
