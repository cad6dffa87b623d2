"""Benchmarks, run by hand: `python -m bench.<name>`. Not part of the product or its tests."""
