"""Tracking objects across frames and the state kept for each (reference §7-§8)."""
