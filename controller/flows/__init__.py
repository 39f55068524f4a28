"""Flows as data: reading (`source`), validating (`validate`, `graph`, `schema`), loading
(`loader`) and the runnable model (`model`).

Kept free of imports so node modules can use `controller.flows.problems` without a cycle.
"""
