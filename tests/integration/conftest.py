"""Fixtures for integration tests: a served copy of the flows, a running harness."""

from support.fixtures import flows_dir, harness

__all__ = ["flows_dir", "harness"]
