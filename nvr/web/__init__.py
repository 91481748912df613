"""The HTTP API: Quart-Trio routes served by Hypercorn."""
