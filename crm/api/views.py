"""JSON API (stub, being written)."""
