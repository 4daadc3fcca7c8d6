"""The benchmark of the billing portal: `make bench` (see docs/benchmarks.md). Never part of the tests."""
