"""lemlist sensors: added with the pipelines (lead import, enrichment, unsubscribes, exports)."""
