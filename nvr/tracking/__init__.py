"""Tracking objects across frames and the state kept for each (Frigate 0.8:
docs/compatibility.md#tracking, docs/compatibility.md#object-state)."""
