"""Benchmarks of bando: each measures a piece of work against a baseline run in the same
process and reports the ratio, so figures compare across machines. Run with `make bench`."""
