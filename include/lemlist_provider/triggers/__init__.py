"""lemlist triggers: the waits for enrichments and exports, run in the triggerer (or in a worker)."""
