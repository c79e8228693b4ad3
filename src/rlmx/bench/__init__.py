"""Benchmark task generators and scorers (the start of `rlmx bench`)."""
