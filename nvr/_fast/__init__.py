"""Compiled kernels for the per-frame hot path (built from the .pyx files beside this one)."""
