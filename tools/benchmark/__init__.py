"""Benchmarks that print tables: clip loading and end-to-end training.

Modules import their heavy dependencies lazily, so importing one benchmark
does not pull in the other's.
"""
