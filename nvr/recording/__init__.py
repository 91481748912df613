"""Recording: the segment cache, clips built from it and 24/7 recordings."""
