"""Benchmarks: `python -m bench.enrolment`, `python -m bench.deal_cycle`. Never run as tests."""
