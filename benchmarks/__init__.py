"""Benchmarks: each module times one stage of nvr next to a reference measured in the same run."""
