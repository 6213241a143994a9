"""lemlist sensors: wait for enrichments and exports, deferred to their triggers or poking."""
