"""Benchmark scripts (run by hand, not by pytest): see bench/README section in RESULTS.md."""
