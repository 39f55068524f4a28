"""Fixtures for the security tests: the integration harness (real sockets, the simulator), a
controller started as `callflow run` does with its API, and the fuzz's budget: bounded in
`make test` (profile "ci"), deep in `make fuzz` (HYPOTHESIS_PROFILE=deep)."""

import os

from hypothesis import settings
from support.fixtures import api, controller, flows_dir, harness

__all__ = ["api", "controller", "flows_dir", "harness"]

settings.register_profile("ci", max_examples=40, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
