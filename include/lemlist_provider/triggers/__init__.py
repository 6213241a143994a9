"""lemlist triggers: added with the pipelines (lead import, enrichment, unsubscribes, exports)."""
