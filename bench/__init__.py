"""Benchmarks of the two-way sync (`make bench`, issue 9); see docs/benchmarks.md."""
