"""Flows as data: reading, validating and modelling flow documents."""

from controller.flows.loader import LoadResult, discover, load_flow_file, load_flow_text
from controller.flows.model import Flow, Node
from controller.flows.problems import Problem, Severity

__all__ = [
    "Flow",
    "LoadResult",
    "Node",
    "Problem",
    "Severity",
    "discover",
    "load_flow_file",
    "load_flow_text",
]
