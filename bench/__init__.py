"""Benchmarks (`make bench`): each module measures one thing and returns report lines."""
