"""Benchmarks run by `make bench`: each `bench_*.py` module measures one area."""
