"""Benchmarks kept with the code (`make bench`)."""
