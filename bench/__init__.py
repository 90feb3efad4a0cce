"""Benchmark scripts (run by hand, not by pytest): what each measures is in bench/README.md,
the figures in bench/RESULTS.md."""
