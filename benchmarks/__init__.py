"""Benchmarks: each module times one stage of nvr next to a baseline measured in the same run."""
