"""Fixtures for the security tests: the integration harness (real sockets, the simulator)."""

from support.fixtures import flows_dir, harness

__all__ = ["flows_dir", "harness"]
