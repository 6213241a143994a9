"""The account domain: what the daily account overview learns about the team (credits, campaigns)."""
