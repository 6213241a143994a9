"""lemlist operators: ``base`` (what every lemlist task shares), then one module per domain."""
