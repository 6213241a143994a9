"""Hooks for lemlist and lemcal: transport, error policy, rate limiting, typed endpoint methods."""
