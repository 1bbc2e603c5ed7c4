"""Benchmarks: `make bench` (`python -m bench`) runs them all, `python -m bench.NAME --help`
describes one. Never run as tests."""
