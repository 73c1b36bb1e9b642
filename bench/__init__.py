"""Benchmark of the complaint desk: `python -m bench.run` (see bench/README.md)."""
