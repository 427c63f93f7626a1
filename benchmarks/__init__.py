"""Shortlink benchmark suite: `python -m benchmarks [scenario ...]`."""
