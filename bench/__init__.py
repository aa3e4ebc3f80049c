"""Benchmarks: each module is one command (`uv run python -m bench.inbound`, …); none is a test."""
